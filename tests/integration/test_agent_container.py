"""The agent image built and run for real: the fraud agent in a podman container on the stack.

The fraud agent's group and topics are fixed names (`fraud-detector`, `transactions.*`), so
its flag is found by a unique transaction id, and the container's own metrics show it was
the one that published a flag.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hivebus.dev import Endpoints
from hivebus.dev.podman import Podman
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from tests.integration.container_support import (
    agent_image,
    container_gone,
    free_ports,
    podman,
    publish_transaction,
    read_one,
    seed_contracts,
    wait_ready,
)

__all__ = ["agent_image", "podman"]  # fixtures
TOPICS = ("transactions.card", "transactions.wire", "transactions.flagged")


@pytest.mark.timeout(600)  # a first run on a bare machine installs podman and builds the base
def test_fraud_agent_flags_a_transaction_from_a_container_and_stops_cleanly(
    stack: Endpoints, podman: Podman, agent_image: str
) -> None:
    contracts = seed_contracts()
    ensure_topics(admin_client(), [TopicSpec(name, partitions=3) for name in TOPICS])
    [port] = free_ports(1)
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": stack.bootstrap_servers,
        "SCHEMA_REGISTRY_URL": stack.registry_url,
        "HIVEBUS_METRICS_PORT": str(port),
    }
    with _container(podman, agent_image, env, "agents/fraud.py") as name:
        ready = wait_ready(port, lambda: container_gone(podman, name))
        assert ready["checks"] == {"joined:fraud-detector": True, "broker": True, "registry": True}
        assert _pid1_uid(podman, name) == 10001  # hivebus itself runs as the non-root user
        podman.run("healthcheck", "run", name)  # the image's HEALTHCHECK passes (exit 0)

        tx = contracts.Transaction(
            id=f"container-{uuid.uuid4().hex[:10]}", account="acct-container", amount=25_000.0,
            currency="EUR", channel="wire", country="KP", merchant="casino royale",
        )  # fmt: skip
        publish_transaction("transactions.wire", tx)
        flag = read_one("transactions.flagged", contracts.FlaggedTransaction, tx.id)
        assert flag.risk >= 0.7 and flag.account == "acct-container"
        assert _produced(port, "fraud-detector", "transactions.flagged") >= 1  # by the container

        clock = time.monotonic()
        podman.run("stop", "--time", "30", name)  # SIGTERM, SIGKILL only after 30 s
        stopped_s = time.monotonic() - clock
        exit_code = podman.run("inspect", "--format", "{{.State.ExitCode}}", name).strip()
        assert exit_code == "0", podman.logs(name)
        assert stopped_s < 30, f"took {stopped_s:.0f} s: killed, not drained"
        assert "revoked transactions." in podman.logs(name)  # left its group in order


@contextmanager
def _container(podman: Podman, image: str, env: dict[str, str], *args: str) -> Iterator[str]:
    name = f"hivebus-test-{uuid.uuid4().hex[:10]}"
    options = [f"--env={key}={value}" for key, value in env.items()]
    # --read-only: as Kubernetes runs it (readOnlyRootFilesystem); /tmp stays writable.
    podman.run("run", "--detach", "--read-only", "--name", name, "--network", "host", *options,
               image, *args)  # fmt: skip
    try:
        yield name
    finally:
        podman.run("rm", "--force", name)


def _pid1_uid(podman: Podman, name: str) -> int:
    status = podman.run("exec", name, "cat", "/proc/1/status")
    [uids] = [line for line in status.splitlines() if line.startswith("Uid:")]
    return int(uids.split()[1])


def _produced(port: int, agent: str, topic: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "hivebus_events_produced_total"
        and sample.labels == {"agent": agent, "topic": topic}
    )
