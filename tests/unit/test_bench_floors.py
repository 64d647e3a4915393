"""The (b) floors: the fastest finish any system could reach, with and without per-key order."""

from __future__ import annotations

from bench.contracts import Job
from bench.matrix import floors


def job(key: str, delay_ms: int) -> Job:
    return Job(id=f"{key}-{delay_ms}", key=key, seq=0, delay_ms=delay_ms, sent_at_us=0)


def test_the_heaviest_key_bounds_ordered_work_and_the_longest_job_unordered_work() -> None:
    batch = [job("a", 300), job("a", 300), job("a", 300), job("b", 500), job("c", 100)]
    assert floors(batch, concurrency=10) == {"ordered_floor_s": 0.9, "unordered_floor_s": 0.5}


def test_few_slots_make_the_total_work_the_floor() -> None:
    batch = [job(f"k{i}", 200) for i in range(10)]  # 2 s of work, 2 at a time
    assert floors(batch, concurrency=2) == {"ordered_floor_s": 1.0, "unordered_floor_s": 1.0}
