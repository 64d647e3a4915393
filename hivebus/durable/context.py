"""The durable handler's Context: every step, time, id and random number goes through the
run's journal, so a replay after a crash sees exactly what the first execution saw.

Replay is positional: the n-th step the handler asks for is the n-th step recorded. A step
that is recorded returns its recorded result (or raises its recorded failure) without
running; the first step that is not recorded runs, and is recorded before the handler goes
on. A handler whose n-th step has another name than the recorded one has changed under a
run in flight: `DeterminismError`, and the run is parked.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from random import random
from typing import Any, TypeVar
from uuid import UUID, uuid4

from hivebus.contracts import Record
from hivebus.durable import codec
from hivebus.durable.blobs import inline_limit
from hivebus.durable.calls import Callee
from hivebus.durable.collect import collect
from hivebus.durable.errors import DeterminismError, StepFailed, WaitTimedOut
from hivebus.durable.gather import Branch, Call, Gathered, gather
from hivebus.durable.message import StartingEvent
from hivebus.durable.records import JournalStep
from hivebus.durable.run import Deferred, Run, Suspended, stamp
from hivebus.durable.views import JournaledView
from hivebus.kafka.records import Consumed
from hivebus.llm.usage import Usage, counting
from hivebus.runtime import Context, Retry
from hivebus.runtime.attempts import attempt
from hivebus.runtime.observe import Observer, StepSeen, in_step, now_ms
from hivebus.runtime.step_source import STEP_SOURCE, RecordedFailure
from hivebus.runtime.views import View

T = TypeVar("T")
OK, FAILED = "ok", "failed"
REF = "ref:"  # the codec of a result kept in the blobs topic: the value is its reference
INTERNAL = "hivebus:"  # the steps the context itself journals: sleeps, waits, time, ids


class DurableContext(Context):
    __slots__ = ("_event", "_run")

    def __init__(self, base: Context, agent: str, run: Run) -> None:
        # The run request's job carries the outputs; the handler sees the starting event.
        super().__init__(agent, base._job, base.attempt, base._outbox, base._llm_factory, base.log,
                         base._views)  # fmt: skip
        self._run = run
        self._event = StartingEvent(run.journal)
        observer = self._job.observer
        if observer is not None:  # the audit: this handling is the run's
            observer.run(run.journal)

    @property
    def run_id(self) -> str:
        return self._run.id

    @property
    def position(self) -> int:
        """The journal position the run's next step takes: a pattern that is about to make
        calls can name them (a call's id is `call:<agent>:<position>:<run id>`)."""
        return self._run.position

    @property
    def topic(self) -> str:
        return self._event.topic()

    @property
    def partition(self) -> int:
        return self._event.partition()

    @property
    def offset(self) -> int:
        return self._event.offset()

    @property
    def key(self) -> str | None:
        raw = self._event.key()
        return raw.decode(errors="replace") if raw is not None else None

    @property
    def message(self) -> Consumed:
        return self._event

    @property
    def event_id(self) -> str:
        return self._run.id

    async def publish(
        self,
        topic: str,
        record: Any,
        *,
        key: str | bytes | None = None,
        multi_type: bool = False,
    ) -> None:
        """Publish an event (key defaults to the starting event's) when the run completes,
        with its results. A replay after a crash or a wait builds the same list again, so
        every event goes out once per completed run (in exactly-once mode, exactly once)."""
        key = self._event.key() if key is None else key
        self._run.deferred.append(Deferred(topic, record, key, multi_type))

    async def sleep(self, seconds: float) -> None:
        """Sleep durably: the run gives up its turn (no offset, lane or slot is held) and is
        resumed about when the time comes, on whichever worker holds it then."""
        await self._sleep(lambda: stamp(datetime.now(UTC) + timedelta(seconds=seconds)))

    async def sleep_until(self, when: datetime) -> None:
        """`sleep` until `when` (timezone-aware)."""
        if when.tzinfo is None:
            raise ValueError("sleep_until needs a timezone-aware datetime (e.g. UTC)")
        await self._sleep(lambda: stamp(when.astimezone(UTC)))

    async def _sleep(self, wake_at: Callable[[], str]) -> None:
        until = await self.step("hivebus:sleep", wake_at)  # fixed the first time, replayed
        if datetime.now(UTC) < _parse(until):
            raise Suspended(until)

    async def wait_for(self, signal: str, *, timeout_s: float | None = None) -> Any:
        """Wait durably for the signal `signal` (`hivebus runs signal`, or
        `hivebus.durable.signal` from code) and return its JSON payload. A signal that came
        before the run got here is kept for it. Past `timeout_s`, raises `WaitTimedOut`."""
        try:
            return await self._wait(signal, timeout_s)
        except StepFailed as failed:  # a timeout is journaled as the wait step's failure
            if failed.error_type == WaitTimedOut.__name__:
                raise WaitTimedOut(failed.message) from None
            raise

    async def _wait(self, signal: str, timeout_s: float | None) -> Any:
        name = f"hivebus:wait:{signal}"
        run = self._run
        recorded = run.recorded(run.position)
        if recorded is not None:  # the wait ended in an earlier execution: replay it
            return await self.step(name, _unreachable)
        journal = run.journal
        if signal in journal.signals:
            payload = journal.signals.pop(signal)
            return await self.step(name, json.loads, payload)
        waiting = f"{signal}@{run.position}"  # this wait, not an earlier one of the signal
        deadline = journal.wake_at if journal.waiting_for == waiting else None
        if deadline is None and timeout_s is not None:  # fixed on the first arrival here
            deadline = stamp(datetime.now(UTC) + timedelta(seconds=timeout_s))
        if deadline is not None and datetime.now(UTC) >= _parse(deadline):
            return await self.step(name, _timed_out, signal, deadline)  # raises, recorded
        raise Suspended(deadline, waiting_for=waiting)

    async def step(
        self,
        name: str,
        fn: Callable[..., Awaitable[T] | T],
        *args: Any,
        retry: Retry | None = None,
        returns: type[Any] | None = None,
    ) -> T:
        position = self._run.position
        self._run.position += 1
        return await self._step_at(position, name, fn, *args, retry=retry, returns=returns)

    def call(
        self,
        callee: Callee,
        request: Record,
        *,
        key: str | bytes | None = None,
        timeout_s: float | None = None,
    ) -> Call:
        """A request to `callee` (declared in the agent's `calls`), sent once per run:
        `await` it for the reply (`CallTimedOut` past `timeout_s`), or gather it with others.
        The key defaults to the starting event's."""
        return Call(self, callee, request, key, timeout_s)

    def branch(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        retry: Retry | None = None,
        returns: type[Any] | None = None,
    ) -> Branch:
        """A step for `gather`, run there alongside the other items (an LLM call among
        several, say); journaled like `step`."""
        return Branch(name, fn, args, retry, returns)

    def view(self, name: str) -> View:
        """The read model `name` (see `Context.view`), each read journaled as a step
        `hivebus:view:<name>`: a replay answers what the first execution saw."""
        return JournaledView(self, super().view(name))

    async def gather(
        self, *items: Call | Branch, first: int | None = None, timeout_s: float | None = None
    ) -> Gathered:
        """Start every call and branch, then wait for all of them, or the `first` N to
        succeed, or `timeout_s`; what did not finish is in `Gathered.missing`. A run waiting
        on replies is suspended, holding nothing, like `wait_for`."""
        return await gather(self, items, first=first, timeout_s=timeout_s)

    async def collect(
        self,
        callee: Callee,
        request: Record,
        *,
        key: str | bytes | None = None,
        count: int | None = None,
        until: Callable[[list[Any]], bool] | None = None,
        timeout_s: float | None = None,
    ) -> list[Any]:
        """Send `request` once and take the replies of everyone who answers it (bids, say),
        in the order they came, until `count` have, or `until(replies)` is true, or
        `timeout_s` passes; suspended, holding nothing, while it waits. The outcome is
        journaled: a replay gets the same list."""
        return await collect(
            self, callee, request, key=key, count=count, until=until, timeout_s=timeout_s
        )

    async def _step_at(
        self,
        position: int,
        name: str,
        fn: Callable[..., Awaitable[T] | T],
        *args: Any,
        retry: Retry | None = None,
        returns: type[Any] | None = None,
    ) -> T:
        run = self._run
        recorded = run.recorded(position)
        if recorded is not None:
            if recorded.name != name:
                raise DeterminismError(run.id, position, recorded.name, name)
            if recorded.outcome == FAILED:
                raise StepFailed(name, recorded.error_type or "", recorded.error or "")
            kind, data = recorded.codec, recorded.value or b"null"
            if kind.startswith(REF):  # kept out of line: read it back
                kind, data = kind[len(REF) :], await run.blobs.get(data)
            value: T = codec.decode(kind, data, returns)
            return value
        source = STEP_SOURCE.get()  # a replay's, serving steps from the record
        if source is not None and not name.startswith(INTERNAL):  # (time, ids, sleeps and
            fn, retry = source.replace(name, fn, returns), None  # waits are the run's own)
        started, clock, started_ms = stamp(), time.perf_counter(), now_ms()
        try:
            with counting() as usage, in_step(name, position):  # its LLM requests, for `runs show`
                result, tries = await attempt(fn, args, retry)
        except Exception as error:
            # (a failure served from a replay's record keeps the type it was recorded with)
            served = error.recorded_type if isinstance(error, RecordedFailure) else None
            error_type = served or type(error).__name__
            failed = JournalStep(
                seq=position, name=name, outcome=FAILED, codec=codec.JSON,
                error_type=error_type, error=str(error)[:2000],
                started_at=started, duration_ms=1000 * (time.perf_counter() - clock),
                attempts=retry.attempts if retry is not None else 1,
            )  # fmt: skip
            await run.record(failed)
            _seen(self._job.observer, failed, started_ms, usage, error=error)
            raise StepFailed(name, error_type, str(error)) from error
        kind, data = codec.encode(result)
        if len(data) > inline_limit():
            kind, data = REF + kind, await run.blobs.put(run.id, position, data, run.partition)
        done = JournalStep(
            seq=position, name=name, outcome=OK, codec=kind, value=data, started_at=started,
            duration_ms=1000 * (time.perf_counter() - clock), attempts=tries,
            llm_requests=usage.requests, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        )  # fmt: skip
        await run.record(done)
        _seen(self._job.observer, done, started_ms, usage, value=result)
        return result

    async def now(self) -> datetime:
        return datetime.fromisoformat(await self.step("hivebus:now", _now_iso))

    async def uuid(self) -> UUID:
        return UUID(await self.step("hivebus:uuid", _uuid_text))

    async def random(self) -> float:
        return float(await self.step("hivebus:random", _random_float))


def _seen(
    observer: Observer | None, step: JournalStep, started_ms: int, usage: Usage, *,
    value: Any = None, error: BaseException | None = None,
) -> None:  # fmt: skip
    """Tell the observer (the audit), if any, of a step that ran and is recorded."""
    if observer is not None:
        observer.step(StepSeen(
            step.name, step.seq, started_ms, step.duration_ms, step.attempts, value, error,
            durable=True, llm_requests=usage.requests, prompt_tokens=usage.prompt_tokens,
            completion_tokens=usage.completion_tokens,
        ))  # fmt: skip


def _parse(moment: str) -> datetime:
    return datetime.fromisoformat(moment)


def _unreachable() -> None:
    raise AssertionError("a recorded step is replayed, never run")


def _timed_out(signal: str, deadline: str) -> None:
    raise WaitTimedOut(f"no signal {signal!r} came before {deadline}")


def _now_iso() -> str:
    return stamp()


def _uuid_text() -> str:
    return str(uuid4())


def _random_float() -> float:
    return random()
