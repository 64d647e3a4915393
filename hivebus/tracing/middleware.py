"""`Tracing`: the middleware that gives each handled event an OpenTelemetry span.

    fraud = Agent("fraud-detector", middleware=[Audit(), Tracing()])

Per record it starts a CONSUMER span `<agent> process <topic>` whose parent is the span
named by the record's `ce_traceparent` (a record without one starts a trace), and makes it
current while the handler runs: every output then carries that span in `ce_traceparent`
(the outbox reads `hivebus.runtime.tracecontext.TRACE`), each step that runs is a child span
(`observe.STEP_SPAN`) and each LLM call a child of its step (`llm.watch`). It is `outermost`,
like the audit: one span covers every attempt, and a dead letter marks it ERROR and carries
it too. An agent without it pays nothing: nothing in the runtime imports OpenTelemetry.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import Token
from typing import TYPE_CHECKING, Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, Span, SpanKind, Status, StatusCode, Tracer

from hivebus.llm import watch
from hivebus.llm.completion import Completion
from hivebus.llm.provider import ChatRequest
from hivebus.runtime import tracecontext
from hivebus.runtime.middleware import DONE, Call, Next
from hivebus.runtime.observe import STEP_SPAN, Observer, StepSeen
from hivebus.runtime.tracecontext import TRACE
from hivebus.tracing import attributes, setup
from hivebus.tracing.traceparent import read_parent, trace_headers

if TYPE_CHECKING:
    from hivebus.contracts import Record
    from hivebus.runtime.outbox import Outbox

log = logging.getLogger("hivebus.tracing")
INSTRUMENTATION = "hivebus"


class Tracing:
    """Trace each handled event, its steps and its LLM calls. `provider`: the tracer
    provider to use, else the one `hivebus.tracing.setup` picks (OTLP from the environment,
    or the global one)."""

    outermost = True  # wraps dead-lettering (see runtime/middlewares/standard.py)
    forwards_notices = True  # its observer passes them on: it goes inside the audit

    def __init__(self, provider: trace.TracerProvider | None = None) -> None:
        self._provider = provider
        self._tracers: dict[str, Tracer] = {}

    async def prepare(self, outbox: Outbox) -> None:
        """Before the agent consumes: its outputs carry trace headers from now on."""
        outbox.traced = True
        self._tracer(outbox.agent)

    async def stopped(self) -> None:
        """The worker stopped: export the spans still buffered."""
        await asyncio.to_thread(setup.flush)

    def __call__(self, call: Call, call_next: Next) -> Awaitable[None]:
        agent = call.agent.name
        tracer = self._tracers.get(agent) or self._tracer(agent)
        outbox = call.outbox
        if getattr(outbox, "traced", True) is False:  # an outbox `prepare` never saw
            outbox.traced = True  # type: ignore[union-attr]
        parent = read_parent(call.job.headers)
        # A record with no parent starts a trace: never under whatever span happens to be
        # current where the job runs.
        context = (
            otel_context.Context() if parent is None
            else trace.set_span_in_context(NonRecordingSpan(parent))
        )  # fmt: skip
        span = tracer.start_span(
            f"{agent} process {call.job.message.topic()}", context, SpanKind.CONSUMER,
            attributes.process(call),
        )  # fmt: skip
        handling = Handling(tracer, span, call)
        if call.handler.is_async:
            return self._traced(handling, call_next)
        entered = handling.enter()
        try:
            handled = call_next(call)
        except BaseException as error:
            handling.exit(entered)
            handling.end(error)
            raise
        handling.exit(entered)
        if handled is DONE:
            handling.end(None)
            return DONE
        return self._finish(handling, handled)

    async def _traced(self, handling: Handling, call_next: Next) -> None:
        entered = handling.enter()
        try:
            await call_next(handling.call)
        except BaseException as error:
            handling.exit(entered)
            handling.end(error)
            raise
        handling.exit(entered)
        handling.end(None)

    async def _finish(self, handling: Handling, handled: Awaitable[None]) -> None:
        entered = handling.enter()
        try:
            await handled
        except BaseException as error:
            handling.exit(entered)
            handling.end(error)
            raise
        handling.exit(entered)
        handling.end(None)

    def _tracer(self, agent: str) -> Tracer:
        provider = self._provider or setup.provider_for(agent)
        tracer = self._tracers[agent] = provider.get_tracer(INSTRUMENTATION)
        return tracer


# (OpenTelemetry's token, TRACE's, the job's observer before, STEP_SPAN's, the listener)
Entered = tuple[object, Token[Any], Observer | None, Token[Any], AbstractContextManager[None]]


class Handling:
    """One record's span while its handler runs: the observer (passing everything on to
    the audit's, if any), the step spans and the LLM listener of that handling."""

    __slots__ = ("call", "dead_letter", "inner", "listener", "span", "tracer")

    def __init__(self, tracer: Tracer, span: Span, call: Call) -> None:
        self.tracer = tracer
        self.span = span
        self.call = call
        self.inner: Observer | None = None
        self.listener: watch.Listener | None = None
        self.dead_letter: str | None = None

    def enter(self) -> Entered:
        """Make the span current for the runtime (outputs, steps) and for OpenTelemetry."""
        job = self.call.job
        self.listener = watch.current()
        listening = watch.listening(self.llm_call)
        listening.__enter__()
        entered = (
            otel_context.attach(trace.set_span_in_context(self.span)),
            TRACE.set(trace_headers(self.span.get_span_context())),
            job.observer,
            STEP_SPAN.set(self.step_span),
            listening,
        )
        self.inner, job.observer = job.observer, self  # last: nothing after it can fail
        return entered

    def exit(self, entered: Entered) -> None:
        attached, trace_token, observer, step_span, listening = entered
        listening.__exit__(None, None, None)
        STEP_SPAN.reset(step_span)
        self.call.job.observer = observer
        TRACE.reset(trace_token)
        otel_context.detach(attached)  # type: ignore[arg-type]

    def end(self, error: BaseException | None) -> None:
        span, call = self.span, self.call
        span.set_attribute("hivebus.attempts", call.attempt)
        if error is not None and isinstance(error, Exception):
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
        elif error is not None:  # cancelled or fenced: the next owner handles the record
            span.set_attribute("hivebus.cancelled", True)
        elif self.dead_letter is not None or call.job.dead:
            span.set_status(Status(StatusCode.ERROR, self.dead_letter or "dead-lettered"))
        span.end()

    @contextmanager
    def step_span(self, name: str, position: int | None) -> Iterator[None]:
        """A child span of whatever is current (the handling, or an enclosing step)."""
        agent = self.call.agent.name
        with self.tracer.start_as_current_span(
            f"{agent} step {name}", kind=SpanKind.INTERNAL,
            attributes=attributes.step(agent, name, position),
        ) as span:  # fmt: skip
            token = TRACE.set(trace_headers(span.get_span_context()))
            try:
                yield
            finally:
                TRACE.reset(token)

    def llm_call(
        self, request: ChatRequest, completion: Completion | None, error: BaseException | None,
        took: float,
    ) -> None:  # fmt: skip
        """A CLIENT span for one LLM call, under the step that made it; then pass it on."""
        try:
            ended = time.time_ns()
            span = self.tracer.start_span(
                f"chat {request.model}", kind=SpanKind.CLIENT,
                attributes=attributes.llm(request, completion),
                start_time=ended - int(took * 1e9),
            )  # fmt: skip
            if error is not None:
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))
            span.end(end_time=ended)
        except Exception:  # a listener is told, never asked: tracing must not fail a call
            log.exception("could not trace an LLM call of %s", self.call.agent.name)
        if self.listener is not None:
            self.listener(request, completion, error, took)

    # The runtime's observer: pass everything on to the one this handling found.

    def published(self, topic: str, event_id: bytes, record: Record) -> None:
        if self.inner is not None:
            self.inner.published(topic, event_id, record)

    def step(self, seen: StepSeen) -> None:
        if self.inner is not None:
            self.inner.step(seen)

    def run(self, journal: Any) -> None:
        run_id = getattr(journal, "run_id", None)
        if run_id is not None:
            self.span.set_attribute("hivebus.run_id", run_id)
        if self.inner is not None:
            self.inner.run(journal)

    def dead_lettered(self, error_type: str, message: str, topic: str) -> None:
        self.dead_letter = f"{error_type}: {message}"
        self.span.set_attribute("hivebus.dead_letter.topic", topic)
        if self.inner is not None:
            self.inner.dead_lettered(error_type, message, topic)

    def attempt_failed(self, attempt: int, error: BaseException) -> None:
        if self.inner is not None:
            self.inner.attempt_failed(attempt, error)


def _current_headers() -> tracecontext.TraceHeaders | None:
    """The trace headers of the caller's current span (what `Publisher` stamps)."""
    return trace_headers(trace.get_current_span().get_span_context())


tracecontext.install(_current_headers)
