"""Subjects follow TopicNameStrategy, or TopicRecordNameStrategy for multi-type topics."""

from __future__ import annotations

from hivebus.contracts import subject_for
from hivebus.contracts.subjects import all_subjects


def test_a_one_type_topic_uses_the_value_subject() -> None:
    assert subject_for("payments", "acme.Payment", multi_type=False) == "payments-value"


def test_a_multi_type_topic_has_a_subject_per_record() -> None:
    assert subject_for("tasks", "acme.TaskRequested", multi_type=True) == "tasks-acme.TaskRequested"
    assert subject_for("tasks", "acme.TaskDone", multi_type=True) == "tasks-acme.TaskDone"


class CappedRegistry:
    """Lists subjects as Apicurio's ccompat API does: at most 1,000 unless paged."""

    def __init__(self, count: int) -> None:
        self.subjects = [f"topic.{i:05d}-value" for i in range(count)]

    def get_subjects(
        self,
        subject_prefix: str | None = None,
        deleted: bool = False,
        deleted_only: bool = False,
        offset: int = 0,
        limit: int = -1,
    ) -> list[str]:
        size = 1000 if limit < 0 else min(limit, 1000)
        return self.subjects[offset : offset + size]


def test_every_subject_is_listed_also_past_the_registrys_page_cap() -> None:
    registry = CappedRegistry(2_345)
    assert all_subjects(registry) == registry.subjects  # type: ignore[arg-type]
    assert all_subjects(CappedRegistry(1_000)) == CappedRegistry(1_000).subjects  # type: ignore[arg-type]
    assert all_subjects(CappedRegistry(0)) == []  # type: ignore[arg-type]
