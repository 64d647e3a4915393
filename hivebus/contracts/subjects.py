"""Subject names, always chosen here: confluent-kafka >= 2.14 changed its default strategy."""

from __future__ import annotations


def subject_for(topic: str, fullname: str, *, multi_type: bool) -> str:
    """`<topic>-value` (TopicNameStrategy), or `<topic>-<fullname>` for a multi-type topic.

    A multi-type topic carries several record types, each evolving on its own, so each type gets
    its own subject (TopicRecordNameStrategy); a one-type topic keeps the familiar `-value`.
    """
    return f"{topic}-{fullname}" if multi_type else f"{topic}-value"
