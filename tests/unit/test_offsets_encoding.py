"""Commit metadata: hb2 run lengths, cut to a safe prefix; hb1 still read; junk skips nothing."""

from __future__ import annotations

import random

import pytest

from hivebus.runtime.offsets import METADATA_BUDGET, decode_completed, encode_completed


def test_spelling_is_base36_runs_from_the_incomplete_base() -> None:
    assert encode_completed(100, {101, 102, 105}) == ("hb2:1,2,2,1", False)
    assert encode_completed(0, range(1, 37)) == ("hb2:1,10", False)  # 36 complete
    assert encode_completed(0, {36}) == ("hb2:10,1", False)  # 36 incomplete: 0..35
    assert encode_completed(0, {1296}) == ("hb2:100,1", False)  # 36 ** 2
    assert encode_completed(7, set()) == ("", False)
    assert encode_completed(100, {98, 100, 101}) == ("hb2:1,1", False)  # the base is incomplete


def random_completed(rng: random.Random, base: int) -> set[int]:
    """Completed runs and gaps of random lengths: mostly short, some long."""
    completed: set[int] = set()
    cursor = base + 1 + rng.randrange(3)
    for _ in range(rng.randrange(0, 1500)):
        length = rng.choice((1, 1, 2, 3, rng.randrange(1, 300)))
        completed.update(range(cursor, cursor + length))
        cursor += length + rng.choice((1, 1, 2, rng.randrange(1, 300)))
    return completed


def test_round_trip_over_random_sets() -> None:
    rng = random.Random(20_240_601)
    cuts = 0
    for _ in range(100):
        base = rng.randrange(0, 10**12)
        completed = random_completed(rng, base)
        text, cut = encode_completed(base, completed, budget=10**9)
        assert not cut
        assert decode_completed(base, text) == completed
        text, cut = encode_completed(base, completed)
        assert len(text.encode()) <= METADATA_BUDGET
        decoded = decode_completed(base, text)
        assert decoded == set(sorted(completed)[: len(decoded)])  # the lowest ones, nothing else
        assert cut == (decoded != completed)
        cuts += cut
    assert cuts  # the budget was exercised, not only the easy case


def test_a_cut_keeps_the_longest_prefix_of_whole_runs() -> None:
    # 300 runs of 50 completed offsets, 50 apart: runs are far shorter than a bitmap here
    completed = {start + i for start in range(50, 30_000, 100) for i in range(50)}
    full, _ = encode_completed(0, completed, budget=10**9)
    assert full.startswith("hb2:")
    assert encode_completed(0, completed, budget=len(full)) == (full, False)
    shorter, cut = encode_completed(0, completed, budget=len(full) - 1)
    assert cut and full.startswith(shorter + ",")
    assert full[len(shorter) + 1 :].count(",") == 1  # only the last (incomplete, complete) went
    assert encode_completed(0, completed, budget=len("hb2:1")) == ("", True)


def test_hb1_metadata_decodes() -> None:
    # hb1 is the step from the base to the first completed offset, then between successive ones
    assert decode_completed(100, "hb1:1,4,125") == {101, 105, 230}
    assert decode_completed(0, "hb1:3,1,1") == {3, 4, 5}


@pytest.mark.parametrize(
    "metadata",
    [
        None,
        "",
        "written by someone else",
        "hb1:",
        "hb1:1,x",
        "hb1:0,2",
        "hb1:-1",
        "hb1:1,,2",
        "hb2:",
        "hb2:1",  # a trailing incomplete run: not something we write
        "hb2:1,2,3",
        "hb2:0,2",
        "hb2:-1,2",
        "hb2:1,A",
        "hb2: 1,2",
        "hb2:1,2,",
        "hb2:1_0,2",
        "hb3:1,2",
        "hb2:" + "z" * 14 + ",1",  # beyond any Kafka offset
        "hb2:" + "z" * 5000 + ",1",
    ],
)
def test_malformed_metadata_means_nothing_to_skip(metadata: str | None) -> None:
    assert decode_completed(100, metadata) == set()


def test_a_bitmap_round_trips_and_is_chosen_when_shorter() -> None:
    rng = random.Random(11)
    completed = set(rng.sample(range(1, 10_000), 4000))
    text, cut = encode_completed(0, completed)
    assert text.startswith("hb3:") and not cut
    assert decode_completed(0, text) == completed
    assert decode_completed(7, "hb3:Bw") == {8, 9, 10}  # 0b111: the three offsets after 7
