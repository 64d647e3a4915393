"""Subject names, always chosen here (confluent-kafka >= 2.14 changed its default strategy),
and the listing of every subject."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confluent_kafka.schema_registry import SchemaRegistryClient


def subject_for(topic: str, fullname: str, *, multi_type: bool) -> str:
    """`<topic>-value` (TopicNameStrategy), or `<topic>-<fullname>` for a multi-type topic.

    A multi-type topic carries several record types, each evolving on its own, so each type gets
    its own subject (TopicRecordNameStrategy); a one-type topic keeps the familiar `-value`.
    """
    return f"{topic}-{fullname}" if multi_type else f"{topic}-value"


PAGE = 500  # subjects asked for at a time


def all_subjects(client: SchemaRegistryClient) -> list[str]:
    """Every subject of the registry. A plain listing is capped by some registries (Apicurio's
    ccompat API answers at most 1,000), so the list is asked for page by page."""
    found: list[str] = []
    while True:
        page = client.get_subjects(offset=len(found), limit=PAGE)
        found += page
        if len(page) < PAGE:
            return found
