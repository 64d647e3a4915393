"""The committed offset is the lowest incomplete one; completed-beyond rides in metadata; the
acknowledged mark moves only on the broker's answer; a long window or a cut encoding pauses."""

from __future__ import annotations

import random

import pytest
from confluent_kafka import KafkaError, KafkaException, TopicPartition

from hivebus.kafka.records import watermarks
from hivebus.runtime.offsets import (
    MAX_WINDOW,
    METADATA_BUDGET,
    PartitionOffsets,
    decode_completed,
)


def tracked(
    offsets: range, *, budget: int = METADATA_BUDGET, max_window: int = MAX_WINDOW
) -> PartitionOffsets:
    result = PartitionOffsets(budget=budget, max_window=max_window)
    for offset in offsets:
        result.track(offset)
    return result


def position_of(offsets: PartitionOffsets) -> tuple[int, str]:
    position = offsets.position()
    assert position is not None
    return position


def test_position_is_the_lowest_incomplete_offset() -> None:
    offsets = tracked(range(10, 15))
    offsets.complete(12)
    offsets.complete(11)
    offset, metadata = position_of(offsets)
    assert offset == 10
    assert decode_completed(10, metadata) == {11, 12}
    offsets.complete(10)
    assert offsets.position() == (13, "")
    offsets.complete(14)
    offsets.complete(13)
    assert offsets.position() == (15, "")  # all done: one past the newest
    assert offsets.in_progress == 0


def test_out_of_order_completion_never_commits_past_a_gap() -> None:
    rng = random.Random(7)
    offsets = tracked(range(1000))
    order = list(range(1000))
    rng.shuffle(order)
    completed: set[int] = set()
    for offset in order:
        offsets.complete(offset)
        completed.add(offset)
        committed, metadata = position_of(offsets)
        assert all(o in completed for o in range(committed))
        assert committed == 1000 or committed not in completed
        assert decode_completed(committed, metadata) <= completed
        assert offsets.in_progress == 1000 - len(completed)
    assert offsets.position() == (1000, "")


def test_the_mark_moves_only_when_the_broker_acknowledges() -> None:
    offsets = PartitionOffsets(committed=0)
    for offset in range(5):
        offsets.track(offset)
    for offset in range(3):
        offsets.complete(offset)
    assert offsets.position() == (3, "")
    assert offsets.acknowledged_offset == 0  # queued, not accepted
    assert offsets.needs_commit()
    assert offsets.position() == (3, "")  # asking again changes nothing
    assert offsets.needs_commit()  # a commit that failed or is in flight is still owed
    offsets.acknowledged(3, "")
    assert offsets.acknowledged_offset == 3
    assert not offsets.needs_commit()
    offsets.complete(4)  # completed beyond: only the metadata changes
    assert offsets.needs_commit()
    assert offsets.acknowledged_offset == 3


def test_a_late_acknowledgement_of_an_older_commit_does_not_move_the_mark_back() -> None:
    offsets = tracked(range(10))
    assert offsets.acknowledged_offset is None
    offsets.complete(0)
    offsets.complete(1)
    older = offsets.position()
    offsets.complete(2)
    offsets.complete(3)
    newer = offsets.position()
    assert older == (2, "") and newer == (4, "")
    offsets.acknowledged(*newer)
    offsets.acknowledged(*older)
    assert offsets.acknowledged_offset == 4
    assert not offsets.needs_commit()


def test_nothing_to_commit_without_progress_or_base() -> None:
    assert PartitionOffsets().position() is None
    assert not PartitionOffsets().needs_commit()
    restored = PartitionOffsets(100, "hb2:1,2,2,1")
    assert restored.position() == (100, "hb2:1,2,2,1")  # the earlier owner's skips are kept
    assert not restored.needs_commit()


def test_5000_scattered_completions_in_a_20000_window_fit_exactly_as_a_bitmap() -> None:
    rng = random.Random(5000)
    offsets = tracked(range(20_000))
    done = set(rng.sample(range(1, 20_000), 5000))  # offset 0 stays incomplete
    for offset in done:
        offsets.complete(offset)
    committed, metadata = position_of(offsets)
    assert committed == 0
    assert len(metadata.encode()) <= METADATA_BUDGET
    assert decode_completed(0, metadata) == done  # nothing left out: no reason to pause
    assert not offsets.full()


def test_scattered_completions_beyond_what_fits_keep_the_lowest_ones_and_pause() -> None:
    rng = random.Random(5000)
    offsets = tracked(range(60_000))
    done = set(rng.sample(range(1, 60_000), 15_000))
    for offset in done:
        offsets.complete(offset)
    committed, metadata = position_of(offsets)
    assert committed == 0
    assert len(metadata.encode()) <= METADATA_BUDGET
    decoded = decode_completed(0, metadata)
    assert decoded and decoded < done
    assert decoded == set(sorted(done)[: len(decoded)])  # a prefix: the lowest ones
    assert len(decoded) > 4000  # the bitmap's prefix covers about 22,000 offsets
    assert offsets.full()


def test_full_past_max_window() -> None:
    offsets = tracked(range(99), max_window=100)
    assert offsets.window == 99 and not offsets.full()
    offsets.track(99)
    assert offsets.window == 100 and offsets.full()
    offsets.complete(50)  # completing above the lowest does not shorten the window
    assert offsets.full()
    offsets.complete(0)
    assert offsets.window == 99 and not offsets.full()
    for offset in range(100):
        offsets.complete(offset)
    assert offsets.window == 0 and not offsets.full()


def test_full_when_the_encoding_was_cut() -> None:
    offsets = tracked(range(100), budget=20)
    for offset in range(1, 100, 2):
        offsets.complete(offset)
    assert not offsets.full()  # no position() asked yet
    offset, metadata = position_of(offsets)
    assert offset == 0 and 0 < len(metadata) <= 20
    assert offsets.full()
    for offset in range(0, 100, 2):
        offsets.complete(offset)
    assert offsets.position() == (100, "")
    assert not offsets.full()


def test_hb1_metadata_from_existing_clusters_restores_the_skips() -> None:
    restored = PartitionOffsets(100, "hb1:1,4,125")  # 101, 105, 230
    skipped = {o for o in range(90, 300) if restored.already_done(o)}
    assert skipped == {101, 105, 230}


@pytest.mark.parametrize(
    "metadata", [None, "", "written by someone else", "hb1:1,x", "hb2:1,2,3", "hb2:0,2", "hb2:z,"]
)
def test_malformed_metadata_means_nothing_to_skip(metadata: str | None) -> None:
    restored = PartitionOffsets(100, metadata)
    assert not any(restored.already_done(o) for o in range(0, 2000))
    assert restored.position() == (100, "")


def test_completing_untracked_or_repeated_offsets_is_ignored() -> None:
    offsets = tracked(range(5, 8))
    for offset in (4, 8, 100, 6, 6):
        offsets.complete(offset)
    assert offsets.in_progress == 2
    offsets.complete(5)
    assert offsets.position() == (7, "")
    assert offsets.in_progress == 1


def test_an_earlier_owners_completions_are_carried_on() -> None:
    restored = PartitionOffsets(100, "hb2:1,2,2,2")  # 101, 102, 105, 106 done
    restored.track(100)
    restored.complete(100)
    offset, metadata = position_of(restored)
    assert offset == 103  # 101 and 102 are done too, though not yet handed to us
    assert decode_completed(103, metadata) == {105, 106}
    for offset in (101, 102, 103, 104):
        restored.track(offset)
        if restored.already_done(offset):
            restored.complete(offset)
    restored.complete(104)
    offset, metadata = position_of(restored)
    assert offset == 103
    assert decode_completed(103, metadata) == {104, 105, 106}


def test_offsets_never_handed_out_do_not_hold_the_commit_back() -> None:
    offsets = PartitionOffsets()
    for offset in (10, 12, 13):  # 11 is a transaction marker: never delivered
        offsets.track(offset)
    offsets.complete(12)
    offset, metadata = position_of(offsets)
    assert offset == 10
    assert 12 in decode_completed(10, metadata)
    assert 13 not in decode_completed(10, metadata)
    offsets.complete(10)
    assert offsets.position() == (13, "")


def test_agrees_with_a_plain_model_over_random_histories() -> None:
    rng = random.Random(11)
    for _ in range(50):
        offsets, handed_out, done = PartitionOffsets(budget=10**9), list[int](), set[int]()
        next_offset = rng.randrange(10**6)
        for _ in range(rng.randrange(1, 600)):
            if rng.random() < 0.6:
                next_offset += rng.choice((1, 1, 1, 2, 5))  # gaps: markers, compaction
                offsets.track(next_offset)
                handed_out.append(next_offset)
            else:
                offset = rng.choice(handed_out) if handed_out else 0
                offset += rng.choice((0, 0, 0, 1))  # sometimes never handed out
                offsets.complete(offset)
                if offset in handed_out:  # a list: the model stays obviously right
                    done.add(offset)
            incomplete = set(handed_out) - done
            position = offsets.position()
            if not handed_out:
                assert position is None
                continue
            assert position is not None
            low = min(incomplete) if incomplete else handed_out[-1] + 1
            expected = {o for o in range(low + 1, handed_out[-1] + 1) if o not in incomplete}
            assert position[0] == low
            assert decode_completed(low, position[1]) == expected
            assert offsets.in_progress == len(incomplete)
            assert offsets.window == (handed_out[-1] + 1 - low if incomplete else 0)


class Leaderless:
    """A consumer whose partition has no leader for its first asks (a broker just started)."""

    def __init__(self, refusals: int, code: int = KafkaError.NOT_LEADER_FOR_PARTITION) -> None:
        self.refusals, self.code, self.asked = refusals, code, 0

    def get_watermark_offsets(self, partition: TopicPartition, timeout: float) -> tuple[int, int]:
        self.asked += 1
        if self.asked <= self.refusals:
            raise KafkaException(KafkaError(self.code))
        return 3, 17


def test_watermarks_wait_out_a_partition_with_no_leader_yet() -> None:
    consumer = Leaderless(refusals=2)
    assert watermarks(consumer, TopicPartition("t", 0), timeout_s=5) == (3, 17)  # type: ignore[arg-type]
    assert consumer.asked == 3


def test_watermarks_raise_other_errors_at_once() -> None:
    consumer = Leaderless(refusals=1, code=KafkaError.TOPIC_AUTHORIZATION_FAILED)
    with pytest.raises(KafkaException):
        watermarks(consumer, TopicPartition("t", 0), timeout_s=5)  # type: ignore[arg-type]
    assert consumer.asked == 1
