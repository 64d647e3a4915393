"""Registry lookups off the event loop: each one bounded in time, one in flight per key.

A lookup runs the blocking registry call in a thread of a small pool of its own and awaits it
for at most the timeout, so a hung registry holds back only the coroutines that need that
lookup: the loop keeps polling, serving cached schemas and answering rebalances. Concurrent
callers of one key (a schema id, a topic/model pair) share one call. A caller that gives up
leaves the call running: when it finishes it fills the serde's cache and the next caller hits.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar, cast

from confluent_kafka.schema_registry import SchemaRegistryClient, SchemaRegistryError

from hivebus.contracts.errors import RegistryUnavailable
from hivebus.contracts.outage import registry_call, registry_url_of

T = TypeVar("T")

# Registry calls get threads of their own rather than the loop's default executor: a hung
# registry then ties up at most this many threads, and sync handlers or DNS lookups that use
# the default executor never queue behind it. Lookups of more distinct keys queue here, each
# still bounded by its own timeout.
WORKERS = 4
PROBE = "probe"


class Lookups:
    """The in-flight registry calls of one serde and the threads that run them."""

    def __init__(self, client: SchemaRegistryClient, timeout_s: float) -> None:
        self.client = client
        self.timeout_s = timeout_s
        self._flights: dict[Hashable, Future[Any]] = {}
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    async def run(
        self, key: Hashable, call: Callable[[], T], action: str, timeout_s: float | None = None
    ) -> T:
        """`call()` in a registry thread, shared by every caller of `key` while it runs.

        `RegistryUnavailable` when it takes longer than `timeout_s` (default: the serde's).
        """
        limit = self.timeout_s if timeout_s is None else timeout_s
        waited = asyncio.wrap_future(self._flight(key, call))
        waited.add_done_callback(_seen)  # an answer that comes after a timeout is not an error
        try:
            # shield: one caller's timeout must not cancel the call the others wait on
            return await asyncio.wait_for(asyncio.shield(waited), limit)
        except TimeoutError:
            url = registry_url_of(self.client)
            raise RegistryUnavailable(url, action, f"no answer within {limit:g} s") from None

    async def reachable(self, timeout_s: float) -> bool:
        """True when the registry answers a cheap request (its global config) in time."""
        try:
            await self.run(PROBE, self._probe, "probing", timeout_s)
        except (RegistryUnavailable, SchemaRegistryError):
            return False
        return True

    def _probe(self) -> None:
        with registry_call(self.client, "reading its global compatibility level"):
            self.client.get_compatibility()

    def _flight(self, key: Hashable, call: Callable[[], T]) -> Future[T]:
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return cast(Future[T], flight)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="hivebus-registry")
            flight = self._flights[key] = self._pool.submit(call)
        # Outside the lock: a call already done runs the callback here, at once.
        flight.add_done_callback(lambda done: self._land(key, done))
        return cast(Future[T], flight)

    def _land(self, key: Hashable, done: Future[Any]) -> None:
        with self._lock:
            if self._flights.get(key) is done:
                del self._flights[key]


def _seen(done: asyncio.Future[Any]) -> None:
    """Mark a late failure as retrieved: its caller already raised `RegistryUnavailable`."""
    if not done.cancelled():
        done.exception()
