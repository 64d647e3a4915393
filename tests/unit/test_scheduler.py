"""Per-lane FIFO, bounded concurrency, watermarks and revocation in the scheduler."""

from __future__ import annotations

from hivebus.runtime.scheduler import Ordering, Scheduler, lane_of

P = ("t", 0)


def _start_all(s: Scheduler[str]) -> list[tuple[str, object]]:
    started = []
    while (nxt := s.next_ready()) is not None:
        started.append((nxt[0], nxt[2]))
    return started


def test_one_record_per_key_runs_at_a_time_in_arrival_order() -> None:
    s: Scheduler[str] = Scheduler(max_in_flight=10)
    for name, key in [("a1", b"a"), ("b1", b"b"), ("a2", b"a"), ("a3", b"a")]:
        s.admit(name, P, lane_of(Ordering.KEY, "t", 0, key))
    assert [n for n, _ in _start_all(s)] == ["a1", "b1"]
    s.finish(("t", 0, b"a"))
    assert [n for n, _ in _start_all(s)] == ["a2"]
    s.finish(("t", 0, b"a"))
    assert [n for n, _ in _start_all(s)] == ["a3"]


def test_concurrency_is_capped_by_max_in_flight() -> None:
    s: Scheduler[int] = Scheduler(max_in_flight=3)
    for i in range(10):
        s.admit(i, P, lane_of(Ordering.KEY, "t", 0, str(i).encode()))
    assert len(_start_all(s)) == 3  # type: ignore[arg-type]
    s.finish(("t", 0, b"0"))
    assert [n for n, _ in _start_all(s)] == [3]  # type: ignore[arg-type]


def test_partition_mode_serialises_and_unordered_mode_does_not() -> None:
    serial: Scheduler[int] = Scheduler(max_in_flight=10)
    free: Scheduler[int] = Scheduler(max_in_flight=10)
    for i in range(4):
        serial.admit(i, P, lane_of(Ordering.PARTITION, "t", 0, str(i).encode()))
        free.admit(i, P, lane_of(Ordering.UNORDERED, "t", 0, b"same"))
    assert len(_start_all(serial)) == 1  # type: ignore[arg-type]
    assert len(_start_all(free)) == 4  # type: ignore[arg-type]


def test_watermarks_say_when_a_partition_is_too_far_ahead_and_when_it_has_drained() -> None:
    s: Scheduler[int] = Scheduler(max_in_flight=1, high_watermark=4, low_watermark=1)
    for i in range(5):
        s.admit(i, P, None)
    assert s.over_high(P) and not s.under_low(P)
    for _ in range(3):
        assert s.next_ready() is not None
        s.finish(None)
    assert not s.over_high(P) and not s.under_low(P)  # 2 still waiting
    assert s.next_ready() is not None
    assert s.under_low(P)


def test_revoked_partitions_lose_their_waiting_records_only() -> None:
    s: Scheduler[str] = Scheduler(max_in_flight=1)
    s.admit("p0-a", ("t", 0), ("t", 0, b"a"))
    s.admit("p0-b", ("t", 0), ("t", 0, b"a"))
    s.admit("p1-a", ("t", 1), ("t", 1, b"a"))
    assert s.next_ready() is not None  # p0-a runs
    assert sorted(s.drop([("t", 0)])) == ["p0-b"]
    s.finish(("t", 0, b"a"))
    assert [n for n, _ in _start_all(s)] == ["p1-a"]


def test_a_lane_whose_waiting_head_was_dropped_runs_again_when_its_partition_returns() -> None:
    # Partition mode, one slot: p1's head waits in the ready queue behind p0's running record
    # when p1 is revoked. Once p1 comes back, its records must run (defect: they never did).
    s: Scheduler[str] = Scheduler(max_in_flight=1)
    s.admit("p0-0", ("t", 0), lane_of(Ordering.PARTITION, "t", 0, None))
    s.admit("p1-0", ("t", 1), lane_of(Ordering.PARTITION, "t", 1, None))
    assert [n for n, _ in _start_all(s)] == ["p0-0"]
    assert s.drop([("t", 1)]) == ["p1-0"]
    s.admit("p1-0 again", ("t", 1), lane_of(Ordering.PARTITION, "t", 1, None))
    s.finish(lane_of(Ordering.PARTITION, "t", 0, None))
    assert [n for n, _ in _start_all(s)] == ["p1-0 again"]


def test_a_key_still_running_when_revoked_holds_its_returning_records_until_it_finishes() -> None:
    s: Scheduler[str] = Scheduler(max_in_flight=4)
    lane = lane_of(Ordering.KEY, "t", 0, b"k")
    s.admit("old", ("t", 0), lane)
    s.admit("old-next", ("t", 0), lane)
    assert [n for n, _ in _start_all(s)] == ["old"]
    assert s.drop([("t", 0)]) == ["old-next"]
    s.admit("new", ("t", 0), lane)  # the partition came back while "old" still runs
    assert _start_all(s) == []
    s.finish(lane)
    assert [n for n, _ in _start_all(s)] == ["new"]
    assert s.waiting(("t", 0)) == 0
