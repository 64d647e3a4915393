"""The committed offset is the lowest incomplete one; completed-beyond rides in metadata."""

from __future__ import annotations

import random

from hivebus.runtime.offsets import PartitionOffsets, decode_completed, encode_completed


def test_commit_waits_for_the_lowest_incomplete_offset() -> None:
    offsets = PartitionOffsets()
    for offset in range(10, 15):
        offsets.track(offset)
    offsets.complete(12)
    offsets.complete(11)
    assert offsets.committable() == (10, encode_completed(10, {11, 12}))
    offsets.complete(10)
    assert offsets.committable() == (13, "")
    offsets.complete(14)
    offsets.complete(13)
    assert offsets.committable() == (15, "")
    assert offsets.committable() is None  # nothing moved since


def test_out_of_order_completion_never_commits_past_a_gap() -> None:
    rng = random.Random(7)
    offsets = PartitionOffsets()
    order = list(range(1000))
    for offset in order:
        offsets.track(offset)
    rng.shuffle(order)
    completed: set[int] = set()
    for offset in order:
        offsets.complete(offset)
        completed.add(offset)
        result = offsets.committable()
        if result is not None:
            committed, _ = result
            assert all(o in completed for o in range(committed))
            assert committed == 1000 or committed not in completed
    assert offsets.in_progress == 0


def test_metadata_round_trips_and_restores_a_skip_set() -> None:
    text = encode_completed(100, {101, 105, 230})
    assert decode_completed(100, text) == {101, 105, 230}
    restored = PartitionOffsets(committed=100, metadata=text)
    assert restored.already_done(105)
    assert not restored.already_done(100)
    assert not restored.already_done(104)


def test_unknown_or_oversized_metadata_means_nothing_is_skipped() -> None:
    assert decode_completed(0, "written by someone else") == set()
    assert decode_completed(0, "hb1:1,x") == set()
    assert encode_completed(0, set(range(1, 5000))) == ""
