"""CloudEvents headers in the Kafka binary binding: what every event says about itself.

`HeaderBuilder.build` runs once per published event, so everything that does not change per
event (source, type, spec version, content type) is encoded once per (source, type).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from hivebus.contracts.stamps import CLOCK, EVENT_IDS

SPECVERSION = "1.0"
CONTENT_TYPE = "application/avro"

Headers = list[tuple[str, bytes]]
# What confluent-kafka hands back: a list of pairs (values may be str or None), or a dict.
RawHeaders = Sequence[tuple[str, str | bytes | None]] | Mapping[str, str | bytes | None]


@dataclass(slots=True)
class EventMeta:
    """The CloudEvents attributes of one event, as read from its headers."""

    id: str
    source: str
    type: str
    time: str
    specversion: str = SPECVERSION
    correlation_id: str | None = None
    causation_id: str | None = None
    run_id: str | None = None
    traceparent: str | None = None
    content_type: str = CONTENT_TYPE


_SPEC = ("ce_specversion", SPECVERSION.encode())
_CONTENT = ("content-type", CONTENT_TYPE.encode())


class HeaderBuilder:
    """Builds the header list of each event published by one source."""

    def __init__(self, source: str) -> None:
        self.source = source
        self._source = ("ce_source", source.encode())
        self._types: dict[str, tuple[str, bytes]] = {}

    def build(
        self,
        type: str,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        run_id: str | None = None,
        traceparent: str | None = None,
        event_id: str | None = None,
    ) -> tuple[Headers, str]:
        """The headers of one event of `type` (an Avro full name), and the event's id."""
        type_header = self._types.get(type)
        if type_header is None:
            type_header = self._types[type] = ("ce_type", type.encode())
        event_id = event_id or EVENT_IDS.next()
        headers: Headers = [
            _SPEC,
            ("ce_id", event_id.encode()),
            self._source,
            type_header,
            ("ce_time", CLOCK.now()),
            _CONTENT,
        ]
        if correlation_id is not None:
            headers.append(("ce_correlationid", correlation_id.encode()))
        if causation_id is not None:
            headers.append(("ce_causationid", causation_id.encode()))
        if run_id is not None:
            headers.append(("ce_runid", run_id.encode()))
        if traceparent is not None:
            headers.append(("ce_traceparent", traceparent.encode()))
        return headers, event_id

    def caused(self, type: str, cause: bytes, correlation: bytes, run: bytes | None) -> Headers:
        """`build` for an event caused by another, from the cause's header bytes as they
        are (see `raw_lineage`): once per handler output, so nothing is encoded twice."""
        type_header = self._types.get(type)
        if type_header is None:
            type_header = self._types[type] = ("ce_type", type.encode())
        headers: Headers = [
            _SPEC,
            ("ce_id", EVENT_IDS.next_bytes()),
            self._source,
            type_header,
            ("ce_time", CLOCK.now()),
            _CONTENT,
            ("ce_correlationid", correlation),
            ("ce_causationid", cause),
        ]
        if run is not None:
            headers.append(("ce_runid", run))
        return headers


def lineage(headers: RawHeaders | None) -> tuple[str | None, str | None, str | None]:
    """(`ce_id`, `ce_correlationid`, `ce_runid`) of a record, without building `EventMeta`."""
    return _text(raw_lineage(headers))  # type: ignore[return-value]


def raw_lineage(headers: RawHeaders | None) -> tuple[bytes | None, bytes | None, bytes | None]:
    """`lineage` as the header bytes themselves. Every output of a handler needs exactly
    these three to link itself to its cause, and copies them into its own headers: this is
    that hot path, with nothing decoded only to be encoded again."""
    event_id = correlation_id = run_id = None
    if headers:
        pairs = headers.items() if isinstance(headers, Mapping) else headers
        for name, value in pairs:
            if value is None or not name.startswith("ce_"):
                continue
            if name == "ce_id":
                event_id = value if isinstance(value, bytes) else value.encode()
            elif name == "ce_correlationid":
                correlation_id = value if isinstance(value, bytes) else value.encode()
            elif name == "ce_runid":
                run_id = value if isinstance(value, bytes) else value.encode()
    return event_id, correlation_id, run_id


def _text(values: tuple[bytes | None, ...]) -> tuple[str | None, ...]:
    return tuple(None if v is None else v.decode("utf-8", "replace") for v in values)


def parse_headers(headers: RawHeaders | None) -> EventMeta | None:
    """The CloudEvents attributes of a record, or None when it carries no `ce_id`.

    Tolerant by design: records from other producers may omit any optional attribute.
    """
    if not headers:
        return None
    found: dict[str, str] = {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        if value is not None:
            found[name] = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
    if "ce_id" not in found:
        return None
    return EventMeta(
        id=found["ce_id"],
        source=found.get("ce_source", ""),
        type=found.get("ce_type", ""),
        time=found.get("ce_time", ""),
        specversion=found.get("ce_specversion", SPECVERSION),
        correlation_id=found.get("ce_correlationid"),
        causation_id=found.get("ce_causationid"),
        run_id=found.get("ce_runid"),
        traceparent=found.get("ce_traceparent"),
        content_type=found.get("content-type", CONTENT_TYPE),
    )
