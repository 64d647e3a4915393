"""What the container tests share: podman, the images, and waiting on a worker's probes.

The agent image's tag carries a digest of what it is built from, so an unchanged checkout
reuses it and a changed one never tests a stale image. Test modules import the fixtures.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from hivebus import Publisher
from hivebus.contracts import Serde, registry_client
from hivebus.dev.image import AGENT_IMAGE, build_image, source_digest
from hivebus.dev.podman import ENGINE_TOOLS, Podman, PodmanError, ensure_podman
from hivebus.dev.project import find_project
from hivebus.dev.stack_images import build_stack_images, stack_tags
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events

PROJECT = find_project(Path(__file__).parent)
REPOSITORY = AGENT_IMAGE.rpartition(":")[0]
KEPT_TEST_IMAGES = 3  # older test images are removed, so a CI machine does not fill up


@pytest.fixture(scope="session")
def podman() -> Podman:
    """podman, installed by deploy/podman/install.sh if missing (CI runs as root)."""
    return ensure_podman(PROJECT, print, tools=(*ENGINE_TOOLS, "debootstrap"))


@pytest.fixture(scope="session")
def agent_image(podman: Podman) -> str:
    tag = f"{REPOSITORY}:test-{source_digest(PROJECT)}"
    if not podman.image_exists(tag):
        report = build_image(PROJECT, tag=tag)
        print(f"built {tag} in {report.build_s:.0f} s ({report.size_bytes / 1e6:.0f} MB)")
        _remove_older_test_images(podman)
    return tag


@pytest.fixture(scope="session")
def stack_images(podman: Podman) -> dict[str, str]:
    """The Kafka and registry images, built once per pinned version."""
    tags = stack_tags(PROJECT)
    if not all(podman.image_exists(tag) for tag in tags.values()):
        build_stack_images(PROJECT)
    return tags


def container_gone(podman: Podman, name: str) -> str | None:
    """None while the container runs, else its log."""
    if podman.run("inspect", "--format", "{{.State.Status}}", name).strip() == "running":
        return None
    return podman.logs(name)


def seed_contracts() -> Any:
    return import_file(PROJECT.root / "agents" / "contracts.py")


def wait_ready(port: int, alive: Callable[[], str | None], timeout_s: float = 90) -> Any:
    """The JSON of a worker's first 200 from /readyz; `alive` says why it is gone, if it is."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if (gone := alive()) is not None:
            pytest.fail(f"the worker exited before it was ready:\n{gone}")
        with contextlib.suppress(httpx.HTTPError):
            answer = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
            if answer.status_code == 200:
                return answer.json()
        time.sleep(0.5)
    pytest.fail(f"the worker on port {port} was not ready within {timeout_s:.0f} s")


def publish_transaction(topic: str, tx: Any) -> None:
    async def publish() -> None:
        async with Publisher("container-test") as publisher:
            await publisher.publish(topic, tx, key=tx.account)

    asyncio.run(publish())


def read_one(topic: str, model: Any, tx_id: str, timeout_s: float = 60) -> Any:
    """The event on `topic` about transaction `tx_id`, read from the topic's start."""

    def seen(got: list[Any]) -> bool:
        return any(received.event.tx_id == tx_id for received in got)

    reading = read_events(Serde(registry_client()), topic, model, 1, timeout_s, seen)
    found = [received.event for received in asyncio.run(reading) if received.event.tx_id == tx_id]
    assert found, f"nothing about {tx_id} on {topic} within {timeout_s:.0f} s"
    return found[0]


def free_ports(count: int) -> list[int]:
    """Ports no one listens on now (held open together, so they are distinct)."""
    with contextlib.ExitStack() as stack:
        probes = [stack.enter_context(socket.socket()) for _ in range(count)]
        for probe in probes:
            probe.bind(("127.0.0.1", 0))
        return [probe.getsockname()[1] for probe in probes]


def _remove_older_test_images(podman: Podman) -> None:
    """Keep the newest few test images (a concurrent session may be using one)."""
    listed = podman.run("images", "--sort", "created", "--format", "{{.Repository}}:{{.Tag}}")
    tests = [ref for ref in listed.split() if ref.startswith(f"{REPOSITORY}:test-")]
    for ref in tests[KEPT_TEST_IMAGES:]:
        with contextlib.suppress(PodmanError):  # in use: a later session removes it
            podman.run("rmi", ref)
