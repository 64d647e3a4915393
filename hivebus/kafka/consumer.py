"""The consumer thread: the only thread that touches the consumer, and it never waits on handlers.

Other threads (the event loop) never call the consumer directly: they queue commits, pauses
and resumes, which this thread applies between polls. Calling the consumer from the loop
while this thread sits in a rebalance callback waiting for the loop would deadlock both.

It hands each batch to the event loop in one call and waits (briefly) only while two batches
are still unclaimed, which bounds memory without ever stalling long enough to endanger
`max.poll.interval.ms`. Rebalance callbacks run on this thread inside `consume()`; they call
into the loop and wait for it, which is exactly what holds a revocation until in-flight work
has drained and its offsets are committed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from confluent_kafka import Consumer, KafkaError, KafkaException, TopicPartition

from hivebus.errors import ConfigError
from hivebus.kafka.config import describe_config_error
from hivebus.kafka.records import Consumed, next_batch

log = logging.getLogger("hivebus.kafka")

BatchHandler = Callable[[list[Consumed]], None]
AssignHandler = Callable[[list[TopicPartition]], Awaitable[None]]
RevokeHandler = Callable[[list[TopicPartition], bool], Awaitable[list[TopicPartition]]]
CommitHandler = Callable[[KafkaError | None, list[TopicPartition]], None]
FinalCommitHandler = Callable[[list[TopicPartition]], None]
COMMITTED_TIMEOUT_S = 10.0


class ConsumerThread:
    def __init__(
        self,
        config: dict[str, Any],
        topics: Sequence[str],
        loop: asyncio.AbstractEventLoop,
        *,
        on_batch: BatchHandler,
        on_assign: AssignHandler,
        on_revoke: RevokeHandler,
        on_commit: CommitHandler,
        on_final_commit: FinalCommitHandler,
        batch_size: int = 500,
        rebalance_timeout_s: float = 60.0,
        transactional: bool = False,
    ) -> None:
        try:
            self.consumer = Consumer({**config, "on_commit": self._committed})
        except KafkaException as error:
            raise ConfigError(describe_config_error("consumer", error)) from None
        self._on_commit = on_commit
        self._on_final_commit = on_final_commit
        self._topics = list(topics)
        self._loop = loop
        self._on_batch = on_batch
        self._on_assign = on_assign
        self._on_revoke = on_revoke
        self._batch_size = batch_size
        self._rebalance_timeout_s = rebalance_timeout_s
        self._requests: deque[tuple[str, list[TopicPartition]]] = deque()
        # The group generation for transactions (KIP-447), read on this thread: the call
        # blocks while another thread polls. Refreshed on every rebalance and each second.
        self.group_metadata: Any = None
        self._transactional = transactional
        self._metadata_at = 0.0
        self._in_transit = threading.Semaphore(2)
        self._stopping = threading.Event()
        self.closed = asyncio.Event()
        self.error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name=f"hivebus-consumer-{config['group.id']}", daemon=True
        )

    def start(self) -> None:
        self.consumer.subscribe(
            self._topics,
            on_assign=self._assigned,
            on_revoke=self._revoked,
            on_lost=self._lost,
        )
        self._thread.start()

    def commit(self, offsets: list[TopicPartition]) -> None:
        """Commit asynchronously, from the consumer thread, before its next poll."""
        self._requests.append(("commit", offsets))

    def pause(self, partitions: list[TopicPartition]) -> None:
        self._requests.append(("pause", partitions))

    def resume(self, partitions: list[TopicPartition]) -> None:
        self._requests.append(("resume", partitions))

    def stop(self) -> None:
        """Ask the thread to leave the group: revocation runs, then the consumer closes."""
        self._stopping.set()

    def _run(self) -> None:
        try:
            while not self._stopping.is_set():
                self._apply_requests()
                if self._transactional and time.monotonic() - self._metadata_at > 1.0:
                    self._refresh_group_metadata()
                if not self._in_transit.acquire(timeout=0.1):
                    continue
                messages = self._next_batch()
                if messages:
                    self._loop.call_soon_threadsafe(self._hand_over, messages)
                else:
                    self._in_transit.release()
            self._apply_requests()
            self.consumer.close()  # revokes the assignment through _revoked, then leaves
        except BaseException as error:  # surfaced by the worker, never swallowed
            self.error = error
        finally:
            self._loop.call_soon_threadsafe(self.closed.set)

    def _next_batch(self) -> list[Consumed]:
        """Wait for the first record only, then take what is already fetched, up to a batch
        (`next_batch`: waiting for a whole batch would add its timeout to every event)."""
        batch = next_batch(self.consumer, self._batch_size, 0.1)
        for message in batch:
            error = message.error()
            if error is not None and error.code() == KafkaError._FATAL:
                # e.g. a static member fenced by another with its group.instance.id: this
                # consumer can never consume again, so the thread ends and the worker exits.
                raise KafkaException(error)
        return batch

    def _apply_requests(self) -> None:
        requests = self._requests
        while requests:
            action, partitions = requests.popleft()
            try:
                if action == "commit":
                    self.consumer.commit(offsets=partitions, asynchronous=True)
                elif action == "pause":
                    self.consumer.pause(partitions)
                else:
                    self.consumer.resume(partitions)
                    self._refetch(partitions)
            except KafkaException as error:
                # e.g. a partition revoked meanwhile: the next commit carries the offsets again
                log.warning("consumer %s failed: %s", action, error)

    def _refetch(self, partitions: list[TopicPartition]) -> None:
        """Start fetching resumed partitions now, from where this thread stopped consuming.

        librdkafka's fetcher notices a resumed partition only when it next wakes up: measured
        0.7-0.9 s here, long enough for a busy agent to run dry (`make bench`, target workload:
        0.85 -> 0.95 of ideal). A seek to the consumed position wakes it; pausing has already
        dropped the prefetched records, so nothing is skipped or read twice.
        """
        for position in self.consumer.position(partitions):
            if position.offset >= 0:  # something was consumed; else resume's own start stands
                self.consumer.seek(position)

    def _hand_over(self, messages: list[Consumed]) -> None:
        self._in_transit.release()
        self._on_batch(messages)

    def _in_loop(self, awaitable: Awaitable[Any]) -> Any:
        future = asyncio.run_coroutine_threadsafe(_await(awaitable), self._loop)
        return future.result(timeout=self._rebalance_timeout_s)

    def _refresh_group_metadata(self) -> None:
        self.group_metadata = self.consumer.consumer_group_metadata()
        self._metadata_at = time.monotonic()

    def _committed(self, error: KafkaError | None, partitions: list[TopicPartition]) -> None:
        """librdkafka's answer to a commit (served inside poll, on this thread)."""
        self._loop.call_soon_threadsafe(self._on_commit, error, partitions)

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Committed offsets carry the completed-beyond set in their metadata (see offsets.py).
        committed = self._committed_offsets(consumer, partitions) if partitions else []
        if self._transactional:
            self._refresh_group_metadata()
        self._in_loop(self._on_assign(committed))

    def _committed_offsets(
        self, consumer: Consumer, partitions: list[TopicPartition]
    ) -> list[TopicPartition]:
        """The group's committed offsets; a slow coordinator is waited for, not fatal."""
        while True:
            try:
                return list(consumer.committed(partitions, timeout=COMMITTED_TIMEOUT_S))
            except KafkaException as error:
                if self._stopping.is_set():
                    raise
                log.warning("reading committed offsets failed (%s); retrying", error)

    def _revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Commits queued before this callback go out first, so none lands after the final one.
        self._apply_requests()
        if self._transactional:
            self._refresh_group_metadata()
        offsets = self._in_loop(self._on_revoke(partitions, False))
        if not offsets:
            return
        try:
            answered = consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            log.warning("final commit on revoke failed (%s); those records run again", error)
            return
        self._loop.call_soon_threadsafe(self._on_final_commit, list(answered or []))

    def _lost(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Lost partitions already belong to someone else: stop their work, commit nothing.
        self._in_loop(self._on_revoke(partitions, True))


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable
