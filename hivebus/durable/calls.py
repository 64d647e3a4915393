"""Calls from a run to another agent: a request sent once, a reply routed back to the run.

A durable agent declares whom it calls (`Agent(durable=True, calls=[Callee(...)])`), so the
worker knows which reply topics to read. The request's `ce_id` is a call id that names the
calling agent, the run and the call's position in it; a hivebus callee's outputs carry it
as their `ce_causationid` (any other Kafka client must do the same), and that is how a reply
finds its run (see replies.py). Sending the request is a step: a restarted run never sends
it twice, unless the worker died between the broker's acknowledgement and the journal write.
"""

from __future__ import annotations

from dataclasses import dataclass

from hivebus.contracts import HeaderBuilder, Record, Serde
from hivebus.errors import ConfigError
from hivebus.kafka.producer import AsyncProducer

_PREFIX = "call:"
REPLY = "hivebus:reply@"  # + "<position of the call>/<the reply's ce_id>": a reply's signal


@dataclass(frozen=True)
class Callee:
    """An agent a durable agent calls: where its requests go, where its replies come back,
    and the contract of a reply. `agent` names the durable agent whose runs answer the
    requests (each run's id is its call id), when there is one: then a run that ends while
    still waiting on such calls cancels those runs (see children.py)."""

    topic: str
    reply_topic: str
    returns: type[Record]
    agent: str | None = None

    def __post_init__(self) -> None:
        if not self.topic or not self.reply_topic:
            raise ConfigError("Callee needs a request topic and a reply_topic")
        if not (isinstance(self.returns, type) and issubclass(self.returns, Record)):
            raise ConfigError(f"Callee.returns must be a contract (a Record), got {self.returns!r}")


def reply_signal(position: int, reply_id: str) -> str:
    """The signal a reply to the call at `position` becomes; one per reply, so a request
    that many answer (an opportunity, to bidders) keeps every answer."""
    return f"{REPLY}{position}/{reply_id}"


def replies_to(signals: dict[str, bytes], position: int) -> list[str]:
    """The signals of the replies to the call at `position`, in the order they came."""
    prefix = f"{REPLY}{position}/"
    return [name for name in signals if name.startswith(prefix)]


def call_id(agent: str, run_id: str, position: int) -> str:
    """The `ce_id` of the request a run sends at `position` (agent names hold no ':')."""
    return f"{_PREFIX}{agent}:{position}:{run_id}"


def parse_call_id(value: str, agent: str) -> tuple[str, int] | None:
    """(run id, position) of one of `agent`'s call ids; None for anything else."""
    head = f"{_PREFIX}{agent}:"
    if not value.startswith(head):
        return None
    position, _, run_id = value[len(head) :].partition(":")
    return (run_id, int(position)) if position.isdigit() and run_id else None


class Requests:
    """Sends the requests of one durable agent's runs, acknowledged before the run goes on.

    Not through the run's own outbox: in exactly-once mode that is a transaction which
    commits only when the run suspends, and a step must be durable when it is recorded.
    """

    def __init__(
        self, agent: str, callees: list[Callee], producer: AsyncProducer, serde: Serde
    ) -> None:
        self.agent = agent
        self.callees = callees
        self.serde = serde
        self._producer = producer
        self._headers = HeaderBuilder(f"hivebus://agents/{agent}")

    def check(self, callee: Callee) -> None:
        if callee not in self.callees:
            raise ConfigError(
                f"agent {self.agent!r} calls {callee.topic!r} without declaring it: add the "
                f"Callee to Agent(..., calls=[...]) so its replies on {callee.reply_topic!r} "
                "are routed back"
            )

    async def send(
        self,
        run_id: str,
        started: dict[str, bytes],
        position: int,
        callee: Callee,
        request: Record,
        key: str | bytes | None,
    ) -> str:
        """Send the request the run makes at `position`; `started` are the headers of the
        event that started the run (the request carries on its correlation)."""
        event_id = call_id(self.agent, run_id, position)
        encoder = await self.serde.encoder_async(callee.topic, type(request))
        correlation = started.get("ce_correlationid") or started.get("ce_id")
        headers, _ = self._headers.build(
            request.fullname, event_id=event_id, causation_id=run_id, run_id=run_id,
            correlation_id=correlation.decode(errors="replace") if correlation else run_id,
        )  # fmt: skip
        await self._producer.send(callee.topic, encoder.encode(request), key=key, headers=headers)
        return event_id

    async def reply(self, payload: bytes, callee: Callee) -> Record:
        """A reply's value (its Confluent-framed bytes, as they came) as the callee's contract."""
        await self.serde.writer_async(payload)
        return self.serde.decode(payload, callee.returns)
