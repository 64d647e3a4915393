"""Plain decisions read back as the `AuditEvent`s they stand for.

The audit writes the decisions of plain handlings compactly (plain.py): by column now
(`PlainColumns`), row by row before that (`PlainDecisions`, still in older logs). A reader
wants decisions, whichever way they were written; `events_of` gives every event a batch
holds, so the store, `history` and `replay` never see the difference.
"""

from __future__ import annotations

from hivebus.audit.records import (
    DECISION,
    OK,
    AuditBatch,
    AuditEvent,
    InputRef,
    OutputRef,
    PlainColumns,
    PlainDecisions,
    PlainOdd,
)


def events_of(batch: AuditBatch) -> list[AuditEvent]:
    """Every event `batch` holds: its events, then its plain decisions."""
    if not batch.plain and not batch.columns:
        return batch.events
    return [
        *batch.events,
        *(event for rows in batch.plain for event in expand_rows(rows)),
        *(event for columns in batch.columns for event in expand_columns(columns)),
    ]


def expand_columns(group: PlainColumns) -> list[AuditEvent]:
    """The decisions `group`'s columns stand for; a malformed group is a `ValueError`."""
    names, count = group.names, len(group.offset_deltas)
    per_row = (group.event_ids, group.lineage, group.began, group.ended)
    if any(len(column) != count for column in per_row):
        raise ValueError(f"plain decisions of {group.agent}: columns of unequal lengths")
    odd: dict[int, PlainOdd] = {item.row: item for item in group.odd}
    if any(not 0 <= row < count for row in odd) or len(odd) != len(group.odd):
        raise ValueError(f"plain decisions of {group.agent}: an odd row out of range or twice")
    positions = [group.type, *([group.output_topic, group.output_type]
                               if group.output_topic >= 0 else [])]  # fmt: skip
    positions += [n for item in group.odd for out in item.outputs for n in (out.topic, out.type)]
    positions += [item.type for item in group.odd]
    if any(not 0 <= n < len(names) for n in positions):  # (-1 would name the last one)
        raise _past_names(group)
    shared = count - len(odd)
    if group.output_topic >= 0 and len(group.output_ids) != shared:
        raise ValueError(
            f"plain decisions of {group.agent}: {len(group.output_ids)} output ids for "
            f"{shared} rows"
        )  # fmt: skip
    outputs = iter(group.output_ids)
    events, offset = [], group.offset
    try:
        for row in range(count):
            offset += group.offset_deltas[row]
            event_id, lineage, began = group.event_ids[row], group.lineage[row], group.began[row]
            item = odd.get(row)
            if item is None:
                attempt, type_name = 1, names[group.type]
                refs = [] if group.output_topic < 0 else [OutputRef(
                    topic=names[group.output_topic], event_id=next(outputs),
                    type=names[group.output_type],
                )]  # fmt: skip
            else:
                attempt, type_name = item.attempt, names[item.type]
                refs = [
                    OutputRef(topic=names[out.topic], event_id=out.event_id, type=names[out.type])
                    for out in item.outputs
                ]
            events.append(_decision(
                group, event_id, lineage.correlation_id, lineage.run_id,
                group.at_ms + round(1000 * (began - group.clock)),
                1000 * (group.ended[row] - began), attempt, refs, offset,
                lineage.causation_id, type_name,
            ))  # fmt: skip
    except IndexError:
        raise _past_names(group) from None
    return events


def expand_rows(group: PlainDecisions) -> list[AuditEvent]:
    """The decisions `group`'s rows stand for (the audit's format before `PlainColumns`)."""
    names, events = group.names, []
    offset = group.offset
    try:
        for row in group.rows:
            offset += row.offset_delta
            outputs = [
                OutputRef(topic=names[out.topic], event_id=out.event_id, type=names[out.type])
                for out in row.outputs
            ]
            events.append(_decision(
                group, row.event_id, row.correlation_id, row.run_id,
                group.at_ms + row.at_delta_ms, row.duration_ms, row.attempt, outputs, offset,
                row.causation_id, names[row.type],
            ))  # fmt: skip
    except IndexError:
        raise _past_names(group) from None
    return events


def _decision(
    group: PlainColumns | PlainDecisions, event_id: str, correlation_id: str | None,
    run_id: str | None, at_ms: int, duration_ms: float, attempt: int, outputs: list[OutputRef],
    offset: int, causation_id: str | None, type_name: str,
) -> AuditEvent:  # fmt: skip
    """A plain decision as any other reads: seq 0, outcome ok, its input by reference."""
    return AuditEvent(
        kind=DECISION, decision_id=f"{group.agent}/{event_id}", seq=0, agent=group.agent,
        agent_version=group.agent_version,
        correlation_id=event_id if correlation_id is None else correlation_id, run_id=run_id,
        at_ms=at_ms, duration_ms=duration_ms, outcome=OK, attempt=attempt, outputs=outputs,
        input=InputRef(topic=group.topic, partition=group.partition, offset=offset,
                       event_id=event_id, causation_id=causation_id, type=type_name),
    )  # fmt: skip


def _past_names(group: PlainColumns | PlainDecisions) -> ValueError:
    return ValueError(
        f"plain decisions of {group.agent} name a position past their {len(group.names)} names"
    )
