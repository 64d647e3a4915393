"""The blackboard on the real broker and registry: writers on one version all land, a late
joiner's snapshot equals the posts log folded, the loop guards stop agents answering each
other, a board closes on its condition and refuses what comes after, and versions stay
gap-free with the keeper killed -9 mid-stream."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter, defaultdict
from pathlib import Path

from confluent_kafka.admin import AdminClient
from confluent_kafka.schema_registry import SchemaRegistryClient

from hivebus import Context, Publisher
from hivebus.contracts import Serde
from hivebus.dev import Endpoints
from hivebus.kafka.admin import ensure_topics
from hivebus.patterns.blackboard import Blackboard, BoardState, Post, Refusal, reply
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import Received, read_events
from hivebus.testing.stack import unique_name
from hivebus.testing.worker import running

AGENTS = Path(__file__).resolve().parents[2] / "agents"
SESSION = ["--consumer-config", "session.timeout.ms=6000", "--consumer-config",
           "heartbeat.interval.ms=1000"]  # fmt: skip
KEEPER = """
import os
from hivebus.patterns.blackboard import Blackboard

keeper = Blackboard(os.environ["BOARD"], partitions=3).keeper
"""


async def _post(board: Blackboard, *posts: Post) -> None:
    async with Publisher("tests") as publisher:
        for post in posts:
            await publisher.publish(board.topics.posts, post, key=post.board_id)


async def _states(
    serde: Serde, board: Blackboard, board_id: str, version: int, timeout_s: float = 60
) -> list[BoardState]:
    """Every committed version of `board_id`, once one reached `version` (or the timeout)."""
    got = await read_events(
        serde, board.topics.state, BoardState, 1, timeout_s=timeout_s, committed_only=True,
        until=lambda got: any(r.event.board_id == board_id and r.event.version >= version
                              for r in got),
    )  # fmt: skip
    return [r.event for r in got if r.event.board_id == board_id]


async def _log(serde: Serde, board: Blackboard, count: int) -> list[Received[Post]]:
    return await read_events(serde, board.topics.posts, Post, count, timeout_s=30)


def _folded(board: Blackboard, board_id: str, log: list[Received[Post]]) -> BoardState:
    posts = [(r.event.post_id or (r.meta.id if r.meta else ""), r.event) for r in log]
    return board.fold(board_id, posts)[0]


async def test_writers_on_one_version_all_land_and_a_late_joiner_sees_the_log_folded(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    board = Blackboard(unique_name("bb"), partitions=2)
    serde, board_id = Serde(registry), "incident-1"
    reacted: dict[str, list[int]] = defaultdict(list)

    def writer(name: str):  # type: ignore[no-untyped-def]
        async def react(state: BoardState, ctx: Context) -> Post | None:
            # Once, on the first version it is shown (a writer whose consumer is slow to
            # start may first see a later one: it still writes on a version others write on).
            first = not reacted[name]
            reacted[name].append(state.version)
            return reply("finding", f"{name} found something") if first else None

        return board.contributor(name, react)

    writers = [unique_name(f"w{n}") for n in range(4)]
    direct = [Post(board_id=board_id, author=f"script{n}", kind="note", based_on_version=1)
              for n in range(40)]  # fmt: skip
    total = 1 + len(writers) + len(direct)
    async with running([board.keeper, *(writer(name) for name in writers)]):
        await _post(board, Post(board_id=board_id, author="pager", kind="alert", content="5xx"))
        async with Publisher("tests") as publisher:  # 40 more, all on version 1, at once
            await publisher.publish_many(board.topics.posts, [(board_id, p) for p in direct])
        states = await _states(serde, board, board_id, total)
    final = states[-1]
    assert final.version == total, f"lost updates: {total - final.version}"
    assert [s.version for s in states] == list(range(1, total + 1))  # one write per version
    by_writers = [e for e in final.entries if e.author in writers]
    assert sorted(e.author for e in by_writers) == sorted(writers)
    # Each writer wrote on the version it was shown, and those behind the board were
    # rebased onto it, not lost ...
    assert {e.author: e.based_on_version for e in by_writers} == {
        name: seen[0] for name, seen in reacted.items()
    }  # fmt: skip
    assert sum(e.version > e.based_on_version + 1 for e in final.entries) >= len(direct) - 1
    assert len({e.post_id for e in final.entries}) == total  # ... and was rebased, not lost

    # A late joiner: the snapshot of the compacted state equals the posts log folded ...
    log = await _log(serde, board, total)
    snapshot = await board.snapshot(serde)
    assert snapshot[board_id] == _folded(board, board_id, log) == final
    # ... and a contributor joining now is called once, with the board as it is, not with
    # the older versions still in the log.
    late, seen = unique_name("late"), []

    async def catch_up(state: BoardState, ctx: Context) -> Post | None:
        seen.append(state)
        return None

    async with running([board.contributor(late, catch_up)]):
        for _ in range(100):
            if seen:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
    assert seen == [final]


async def test_agents_never_answer_themselves_and_the_hop_limit_ends_a_ping_pong(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    board = Blackboard(unique_name("bb"), max_hops=5, partitions=2)
    serde, board_id = Serde(registry), "loop"
    ping, pong = unique_name("ping"), unique_name("pong")
    called_on: Counter[tuple[str, str]] = Counter()

    def answering(name: str):  # type: ignore[no-untyped-def]
        async def react(state: BoardState, ctx: Context) -> Post | None:
            called_on[(name, state.last_author)] += 1
            return reply("answer", f"{name} answers v{state.version}")  # always answers

        return board.contributor(name, react)

    # The opening post gets a reply from both (hop 1). The second of those replies is on
    # its way while the first one's version comes, so that version is not answered by the
    # second agent; the other one answers it, and from there the two answer each other one
    # hop further each time, never themselves, until hop 5: 1 + 2 + 4 versions, then none.
    async with running([board.keeper, answering(ping), answering(pong)]):
        await _post(board, Post(board_id=board_id, author="pager", kind="alert"))
        states = await _states(serde, board, board_id, 7)
        await asyncio.sleep(4)  # a loop would go on; this one has stopped
        await _post(board, Post(board_id=board_id, author="raw-client", kind="x", hop=6,
                                based_on_version=7))  # fmt: skip
        refusals = await read_events(serde, board.topics.refusals, Refusal, 1, timeout_s=30,
                                     committed_only=True)  # fmt: skip
        after = await _states(serde, board, board_id, 8, timeout_s=2)
    final = after[-1]
    assert final.version == 7 and states[-1] == final
    assert [e.hop for e in final.entries] == [0, 1, 1, 2, 3, 4, 5]
    assert max(e.hop for e in final.entries) == 5
    author_of = {e.version: e.author for e in final.entries}
    assert all(author_of[e.based_on_version] != e.author for e in final.entries if e.hop > 0)
    assert called_on[(ping, ping)] == called_on[(pong, pong)] == 0  # never its own post
    [refusal] = [r.event for r in refusals]
    assert (refusal.code, refusal.author, refusal.version) == ("hop_limit", "raw-client", 7)
    assert "hop limit of 5" in refusal.reason


async def test_a_board_closes_on_its_condition_and_refuses_posts_after(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    name = unique_name("bb")
    writer, evidence = unique_name("writer"), unique_name("evidence")
    board = Blackboard(name, closers=[writer], partitions=2)
    three = lambda s: "three posts" if len(s.entries) >= 3 else None  # noqa: E731
    counted = Blackboard(unique_name("bb"), partitions=2, closes_when=three)
    serde = Serde(registry)

    async def find(state: BoardState, ctx: Context) -> Post | None:
        return None if state.of_kind("evidence") else reply("evidence", "disk full on db-1")

    async def conclude(state: BoardState, ctx: Context) -> Post | None:
        found = state.of_kind("evidence")
        return reply("close", f"root cause: {found[0].content}") if found else None

    agents = [board.keeper, board.contributor(evidence, find), board.contributor(writer, conclude),
              counted.keeper]  # fmt: skip
    async with running(agents):
        await _post(board, Post(board_id="b", author="pager", kind="alert"))
        states = await _states(serde, board, "b", 3)
        await _post(
            board,
            Post(board_id="b", author="late-agent", kind="evidence", based_on_version=3),
            Post(board_id="b2", author="pager", kind="alert"),
            Post(board_id="b2", author=evidence, kind="close", based_on_version=1),  # not a closer
            Post(board_id="b2", author=writer, kind="close", based_on_version=0),  # stale
        )
        refusals = await read_events(serde, board.topics.refusals, Refusal, 3, timeout_s=30,
                                     committed_only=True)  # fmt: skip
        await _post(counted, *(Post(board_id="c", author=f"a{n}", kind="n") for n in range(5)))
        counted_states = await _states(serde, counted, "c", 3)
        counted_refusals = await read_events(serde, counted.topics.refusals, Refusal, 2,
                                             timeout_s=30, committed_only=True)  # fmt: skip
        final = (await _states(serde, board, "b", 4, timeout_s=2))[-1]
    assert (final.version, final.status, final.closed_by) == (3, "closed", writer)
    assert final.conclusion == "root cause: disk full on db-1" and states[-1] == final
    assert [e.kind for e in final.entries] == ["alert", "evidence", "close"]
    codes = {(r.event.board_id, r.event.code, r.event.author) for r in refusals}
    assert codes == {("b", "closed", "late-agent"), ("b2", "not_a_closer", evidence),
                     ("b2", "stale", writer)}  # fmt: skip
    closed = counted_states[-1]
    assert (closed.version, closed.closed_by, closed.conclusion) == (
        3, counted.keeper.name, "three posts",
    )  # fmt: skip
    assert [r.event.code for r in counted_refusals] == ["closed", "closed"]


def _keeper(module: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "hivebus.cli", "run", str(module), "--grace=2", *SESSION]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)


async def _post_slowly(board: Blackboard, posts: list[Post], per_s: float) -> None:
    async with Publisher("tests") as publisher:
        for post in posts:
            await publisher.publish(board.topics.posts, post, key=post.board_id)
            await asyncio.sleep(1 / per_s)


async def test_versions_stay_gap_free_with_the_keeper_killed_mid_stream(
    stack: Endpoints, registry: SchemaRegistryClient, admin: AdminClient, tmp_path: Path
) -> None:
    name, boards, per_board = unique_name("bb"), 12, 25
    module = tmp_path / "keeper.py"
    module.write_text(KEEPER)
    env = {**os.environ, "BOARD": name}
    board = Blackboard(name, partitions=3)  # the same topics and rules, to post and to fold
    posts = [Post(board_id=f"b{n % boards}", author=f"writer{n % 5}", kind="note",
                  content=f"post {n}", based_on_version=max(0, n // boards - 1))
             for n in range(boards * per_board)]  # fmt: skip
    serde, total = Serde(registry), boards * per_board
    ensure_topics(admin, board.topic_specs())  # before posting: a publisher would make 1 partition
    first = _keeper(module, env)
    second: subprocess.Popen[bytes] | None = None
    try:
        posting = asyncio.create_task(_post_slowly(board, posts, per_s=60))
        await read_events(serde, board.topics.state, BoardState, 60, timeout_s=120,
                          committed_only=True)  # fmt: skip
        first.kill()  # -9, with versions in flight
        first.wait(10)
        at_kill = await read_events(serde, board.topics.state, BoardState, total, timeout_s=2,
                                    committed_only=True)  # fmt: skip
        assert len(at_kill) < total, "the kill must land mid-stream"
        second = _keeper(module, env)
        await posting
        got = await read_events(serde, board.topics.state, BoardState, total, timeout_s=180,
                                committed_only=True)  # fmt: skip
        await asyncio.sleep(2)  # anything more would be a version written twice
        final = await read_events(serde, board.topics.state, BoardState, total + 1,
                                  timeout_s=4, committed_only=True)  # fmt: skip
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(40)
    assert len(got) == total and len(final) == total
    versions: dict[str, list[int]] = defaultdict(list)
    for r in final:
        versions[r.event.board_id].append(r.event.version)
        assert r.key == r.event.board_id
    assert all(v == list(range(1, per_board + 1)) for v in versions.values())  # no gap, no repeat
    log = await _log(serde, board, total)
    snapshot = await board.snapshot(serde)
    assert len(snapshot) == boards
    for board_id, state in snapshot.items():
        assert state == _folded(board, board_id, log)
        assert [e.content for e in state.entries] == [p.content for p in posts
                                                      if p.board_id == board_id]  # fmt: skip


async def test_the_incident_board_is_worked_out_and_closed_with_a_root_cause(
    stack: Endpoints, registry: SchemaRegistryClient
) -> None:
    reference = import_file(AGENTS / "incident_board.py")
    contracts = import_file(AGENTS / "incident_contracts.py")
    team = reference.incident_board(unique_name("inc"))
    serde, board = Serde(registry), team.board
    incidents = [contracts.Incident(id=f"inc-{n}", service=service, summary="5xx rate 12%")
                 for n, service in enumerate(("checkout", "search", "payments"))]  # fmt: skip
    async with Publisher("alerting") as publisher:  # first, so the reported topic exists
        for incident in incidents:
            await publisher.publish(team.reported, incident, key=incident.id)
    async with running(team.agents):
        got = await read_events(serde, team.resolved, contracts.RootCause, len(incidents),
                                timeout_s=90)  # fmt: skip
        snapshot = await board.snapshot(serde)
    causes = {r.event.incident_id: r.event for r in got}
    assert sorted(causes) == sorted(i.id for i in incidents)
    for incident in incidents:
        state, cause = snapshot[incident.id], causes[incident.id]
        assert state.closed and state.closed_by == team.agents[5].name == cause.closed_by
        kinds = [e.kind for e in state.entries]
        assert kinds[0] == "alert" and kinds[-1] == "close"
        assert sorted(kinds[1:3]) == ["logs", "metrics"] and kinds[3] == "hypothesis"
        hypothesis = contracts.Hypothesis.model_validate_json(
            state.of_kind("hypothesis")[0].content
        )
        assert cause.root_cause == state.conclusion == hypothesis.cause
        assert cause.confidence == hypothesis.confidence and cause.board_version == state.version
        assert incident.service in state.of_kind("logs")[0].content
