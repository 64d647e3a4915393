"""Subjects follow TopicNameStrategy, or TopicRecordNameStrategy for multi-type topics."""

from __future__ import annotations

from hivebus.contracts import subject_for


def test_a_one_type_topic_uses_the_value_subject() -> None:
    assert subject_for("payments", "acme.Payment", multi_type=False) == "payments-value"


def test_a_multi_type_topic_has_a_subject_per_record() -> None:
    assert subject_for("tasks", "acme.TaskRequested", multi_type=True) == "tasks-acme.TaskRequested"
    assert subject_for("tasks", "acme.TaskDone", multi_type=True) == "tasks-acme.TaskDone"
