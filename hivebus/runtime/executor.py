"""Running one job: decode and route its record, run the middleware chain, settle its outputs.

A job runs as far as it can right where it is started: a sync handler with known schemas
finishes there, with no coroutine and no task (see middleware.py's `DONE`). Whatever must
wait — an async handler, a retry's backoff, a schema fetch — runs as a real task, so handler
code always sees `asyncio.current_task()` and its own context. The executor reports back
through two callbacks it was built with: `released(job)` when the handler is finished (its
lane and slot are free for the next record) and `ended(job, complete)` once the job has
reached its final state (its offset is complete unless it was cancelled). It never touches
partitions or commits.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from hivebus.contracts import Decoder, Record, Serde, UndecodableRecord, WriterSchema
from hivebus.contracts.errors import RegistryUnavailable
from hivebus.contracts.wire import HEADER_SIZE
from hivebus.runtime import metrics
from hivebus.runtime.agent import Agent, Handler
from hivebus.runtime.context import Context
from hivebus.runtime.deadletter import Failure
from hivebus.runtime.job import CANCELLED, DEAD_LETTERED, RUNNING, WAITING, Job
from hivebus.runtime.job import DONE as JOB_DONE  # the middleware chain has its own `DONE`
from hivebus.runtime.middleware import DONE, Call, Middleware, chain
from hivebus.runtime.outbox import Fenced, Outbox
from hivebus.runtime.views import declared

if TYPE_CHECKING:
    from hivebus.llm import LLM

REGISTRY_BACKOFF_S = (0.2, 0.5, 1.0, 2.0, 5.0)

_NO_OUTPUT = (
    "handler {} returned events but declares no output topic "
    "(use @agent.on(..., output='topic') or ctx.publish)"
)


Route = tuple[Handler, Decoder[Any]]  # the handler of a (topic, schema id), and its decoder
_IGNORED = object()  # the route of records no handler takes


class HandlerOutputError(Exception):
    pass


class Executor:
    def __init__(
        self,
        agent: Agent,
        *,
        serde: Serde,
        outbox: Outbox,
        middlewares: Sequence[Middleware],
        llm_factory: Callable[[], LLM],
        released: Callable[[Job], None],
        ended: Callable[[Job, bool], None],
        log: logging.Logger,
    ) -> None:
        self.agent = agent
        self._serde = serde
        self._outbox = outbox
        # (topic, a value's 5-byte wire header) -> (handler, decoder), or _IGNORED
        self._routes: dict[tuple[str, bytes], Route | object] = {}
        self._chain = chain(middlewares, self._invoke)
        self._llm_factory = llm_factory
        self._views = declared(agent.name, agent.views)  # what `ctx.view(name)` finds
        self._released = released
        self._ended = ended
        self._log = log
        self._loop = asyncio.get_running_loop()
        outbox.on_settled = self._settled

    def start(self, job: Job) -> None:
        """Run `job` as far as it goes without waiting; a task takes over only if it must."""
        if job.state is not WAITING:
            job.move(RUNNING)  # raises: only a waiting job starts
        job.state = RUNNING
        running: Awaitable[None]
        try:
            message = job.message
            value = message.value() or b""
            route = self._routes.get((message.topic(), value[:HEADER_SIZE]))
            if route is None:
                route = self._known_route(message.topic(), value)
            if route is None:  # a schema id never seen: fetched off the loop
                running = self._prepare_and_handle(job)
            elif route is _IGNORED:
                metrics.ignored(self.agent.name, message.topic()).inc()
                running = DONE
            else:
                handler, decoder = cast(Route, route)
                running = self._handle(job, handler, decoder, value)
        except Fenced:
            self._finish(job, cancelled=True)
            return
        except Exception as error:
            self._fault(job, error)
            running = DONE
        if running is DONE:
            self._finish(job, cancelled=False)
        else:
            job.task = self._loop.create_task(self._complete(job, running))
            job.task.add_done_callback(functools.partial(self._task_done, job, running))

    def _task_done(self, job: Job, running: Awaitable[None], _: object) -> None:
        """A task cancelled before its first step never enters `_complete`: finish the job
        here so its lane and slot are never leaked, and close what it would have awaited
        (coroutines never started would each warn that they were never awaited)."""
        _close_unstarted(running)
        self._finish(job, cancelled=True)

    def _handle(
        self, job: Job, handler: Handler, decoder: Decoder[Any], value: bytes
    ) -> Awaitable[None]:
        try:
            event = decoder.decode(value)
        except UndecodableRecord as error:
            self._outbox.dead_letter(job, Failure("undecodable", error.reason, str(error), 0))
            return DONE
        return self._chain(Call(self.agent, job, handler, event, self._outbox))

    async def _complete(self, job: Job, running: Awaitable[None]) -> None:
        cancelled = False
        try:
            await running
        except Fenced:
            cancelled = True
        except asyncio.CancelledError:
            if not job.fenced:  # not ours (a library cancelled what the handler awaited)
                self._fault(job, RuntimeError("the handler was cancelled from outside"))
            cancelled = job.fenced
        except Exception as error:
            self._fault(job, error)
        finally:
            self._finish(job, cancelled)

    async def _prepare_and_handle(self, job: Job) -> None:
        prepared = await self._prepare(job)
        if prepared is not None:
            await self._chain(Call(self.agent, job, *prepared, self._outbox))

    def _fault(self, job: Job, error: BaseException) -> None:
        """A runtime fault, not the handler's: the record is dead-lettered, never lost."""
        self._log.error("unexpected failure handling %s", job.where, exc_info=error)
        failure = Failure("runtime", type(error).__name__, str(error), 0)
        if not job.fenced:
            self._outbox.dead_letter(job, failure)

    def _finish(self, job: Job, cancelled: bool) -> None:
        """The handler is finished with `job`: free its lane, then seal or cancel it (once)."""
        if job.finished:
            return
        job.finished = True
        self._released(job)
        if cancelled or job.state is CANCELLED or job.assignment.revoked:  # fenced
            self.cancel(job)
        else:
            self._outbox.seal(job)

    def cancel(self, job: Job) -> None:
        """End a job that may not finish: it completes nothing, its outputs are fenced."""
        if job.state.ended:
            return
        job.move(CANCELLED)
        if job.task is not None and not job.task.done():
            job.task.cancel()
        self._ended(job, False)

    async def _prepare(self, job: Job) -> tuple[Handler, Record] | None:
        """Settle the record's route, then decode it; None when it is skipped or dead-lettered.

        A schema id never seen before is fetched off the event loop; while the registry is
        unreachable the record waits (it is fine, so it is never dead-lettered for that), and
        only its own lane waits with it. Once settled, the route of every later record with
        the same topic and schema id is one dictionary lookup in `start`.
        """
        message = job.message
        value, topic = message.value() or b"", message.topic()
        try:
            writer = self._serde.cached_writer(value)
            attempt = 0
            while writer is None:
                try:
                    writer = await self._serde.writer_async(value)
                except RegistryUnavailable as error:
                    delay = REGISTRY_BACKOFF_S[min(attempt, len(REGISTRY_BACKOFF_S) - 1)]
                    self._log.warning("cannot decode %s yet (%s); retrying", job.where, error)
                    attempt += 1
                    await asyncio.sleep(delay)
            route = self._settle_route(topic, value, writer)
            if route is _IGNORED:
                metrics.ignored(self.agent.name, topic).inc()
                return None
            handler, decoder = cast(Route, route)
            return handler, decoder.decode(value)
        except UndecodableRecord as error:
            self._outbox.dead_letter(job, Failure("undecodable", error.reason, str(error), 0))
            return None

    def _known_route(self, topic: str, value: bytes) -> object | None:
        """The route of a value whose writer schema is cached (no I/O), or None: then
        `_prepare` settles it, or dead-letters the value if it cannot be read."""
        try:
            writer = self._serde.cached_writer(value)
            return None if writer is None else self._settle_route(topic, value, writer)
        except UndecodableRecord:
            return None

    def _settle_route(self, topic: str, value: bytes, writer: WriterSchema) -> object:
        handler = self.agent.route(topic, writer.fullname)
        route: object = _IGNORED
        if handler is not None:  # `decoder` raises when the handler's model cannot read it
            route = (handler, self._serde.decoder(writer, handler.event_type))
        self._routes[topic, value[:HEADER_SIZE]] = route
        return route

    def _invoke(self, call: Call) -> Awaitable[None]:
        """The innermost link: one attempt of the handler, its results to the outbox.

        A sync handler whose outputs' encoders are known runs right here and hands back an
        awaitable that is already done: no coroutine at all for the common fast case.
        """
        handler = call.handler
        ctx = Context(
            self.agent.name, call.job, call.attempt, self._outbox, self._llm_factory, self._log,
            self._views,
        )  # fmt: skip
        if handler.is_async:
            return self._invoke_async(call, ctx)
        result, job = handler.fn(call.event, ctx), call.job
        if result is None:
            return DONE
        output = handler.output
        if (  # the common case: one record, its encoder known
            isinstance(result, Record)
            and output is not None
            and self._outbox.emit_cached(
                job, output, result, job.raw_key, handler.output_multi_type
            )
        ):
            return DONE
        records = handler_records(handler, result)
        emit_cached, multi = self._outbox.emit_cached, handler.output_multi_type
        for i, record in enumerate(records):
            if not emit_cached(job, handler.output, record, job.raw_key, multi):  # type: ignore[arg-type]
                return self._emit_rest(job, handler, records[i:])
        return DONE

    async def _invoke_async(self, call: Call, ctx: Context) -> None:
        handler = call.handler
        records = handler_records(handler, await handler.fn(call.event, ctx))  # type: ignore[misc]
        await self._emit_rest(call.job, handler, records)

    async def _emit_rest(self, job: Job, handler: Handler, records: list[Record]) -> None:
        output = handler.output
        if output is None:  # then there are no records: `handler_records` refuses them
            return
        for record in records:
            await self._outbox.emit(job, output, record, job.raw_key, handler.output_multi_type)

    def _settled(self, job: Job) -> None:
        """Every record of the sealed job is acknowledged; a refused output dead-letters it."""
        state = job.state
        if state is not RUNNING and state.ended:
            return
        error = job.delivery_error
        if error is not None and not job.dead:
            self._outbox.dead_letter(job, Failure("delivery", error.name(), error.str(), 1))
            return
        ended = DEAD_LETTERED if job.dead else JOB_DONE
        if state is RUNNING:  # the transition `move` would check, inline
            job.state = ended
        else:
            job.move(ended)
        self._ended(job, True)


def _close_unstarted(awaitable: object) -> None:
    """Close a coroutine that never started, and the ones it was handed to await: each link
    of the chain made its inner coroutine before the task began."""
    pending = [awaitable]
    while pending:
        coroutine = pending.pop()
        if not inspect.iscoroutine(coroutine):
            continue
        if inspect.getcoroutinestate(coroutine) != inspect.CORO_CREATED:
            continue
        pending.extend(inspect.getcoroutinelocals(coroutine).values())
        coroutine.close()


def handler_records(handler: Handler, result: object) -> list[Record]:
    """A handler's result as a list of records for its output topic."""
    if result is None:
        return []
    records = [result] if isinstance(result, Record) else list(result)  # type: ignore[call-overload]
    if records and handler.output is None:
        raise HandlerOutputError(_NO_OUTPUT.format(handler.fn.__name__))
    for record in records:
        if not isinstance(record, Record):
            raise HandlerOutputError(f"handler returned {type(record).__name__}, not a Record")
    return records
