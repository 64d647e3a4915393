"""The whole seed system from deploy/compose.yaml, brought up with podman-compose.

Kafka and the registry run from the stack images, the fraud and compliance agents from the
agent image, on ports of their own (the compose file's variables), beside the session's stack.
A risky transaction goes in; its flag and its compliance decision come out.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from confluent_kafka import KafkaException

from hivebus.contracts.endpoints import REGISTRY_ENV
from hivebus.dev.podman import Podman
from hivebus.kafka.admin import TopicSpec, admin_client, ensure_topics
from hivebus.kafka.endpoints import BOOTSTRAP_ENV
from tests.integration.container_support import (
    PROJECT,
    agent_image,
    container_gone,
    free_ports,
    podman,
    publish_transaction,
    read_one,
    seed_contracts,
    stack_images,
    wait_ready,
)

__all__ = ["agent_image", "podman", "stack_images"]  # fixtures
COMPOSE = PROJECT.root / "deploy" / "compose.yaml"
PORTS = ("HIVEBUS_KAFKA_PORT", "HIVEBUS_KAFKA_CONTROLLER_PORT", "HIVEBUS_REGISTRY_PORT",
         "HIVEBUS_REGISTRY_MANAGEMENT_PORT", "HIVEBUS_FRAUD_METRICS_PORT",
         "HIVEBUS_COMPLIANCE_METRICS_PORT")  # fmt: skip
TOPICS = ("transactions.card", "transactions.wire", "transactions.flagged", "compliance.decisions")


@pytest.mark.timeout(600)
def test_compose_runs_the_seed_system_end_to_end(
    podman: Podman, agent_image: str, stack_images: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    ports = dict(zip(PORTS, free_ports(len(PORTS)), strict=True))
    project = f"hivebus-test-{uuid.uuid4().hex[:8]}"
    env = {
        **podman.env(),
        **{k: str(v) for k, v in ports.items()},
        "HIVEBUS_AGENT_IMAGE": agent_image,
    }
    compose = [sys.executable, "-m", "podman_compose", "-p", project, "-f", str(COMPOSE)]
    monkeypatch.setenv(BOOTSTRAP_ENV, f"127.0.0.1:{ports['HIVEBUS_KAFKA_PORT']}")
    monkeypatch.setenv(
        REGISTRY_ENV, f"http://127.0.0.1:{ports['HIVEBUS_REGISTRY_PORT']}/apis/ccompat/v7"
    )
    try:
        _run([*compose, "up", "-d"], env)
        _create_topics_when_kafka_answers()
        for service in ("fraud", "compliance"):
            port = ports[f"HIVEBUS_{service.upper()}_METRICS_PORT"]
            wait_ready(
                port, lambda service=service: container_gone(podman, f"{project}_{service}_1")
            )

        contracts = seed_contracts()
        tx = contracts.Transaction(
            id=f"compose-{uuid.uuid4().hex[:10]}", account="acct-compose", amount=40_000.0,
            currency="EUR", channel="wire", country="IR", merchant="crypto-xchg",
        )  # fmt: skip
        publish_transaction("transactions.wire", tx)
        assert read_one("transactions.flagged", contracts.FlaggedTransaction, tx.id).risk >= 0.7
        decision = read_one("compliance.decisions", contracts.ComplianceDecision, tx.id)
        assert decision.account == "acct-compose"

        # The agents first, while the broker is up to take their last commits (podman-compose
        # stops services in no dependency order).
        _run([*compose, "stop", "fraud", "compliance"], env)
        for service in ("fraud", "compliance"):  # drained and left their groups: exit 0
            name = f"{project}_{service}_1"
            assert podman.run("inspect", "--format", "{{.State.ExitCode}}", name).strip() == "0"
    finally:
        _run([*compose, "down", "--volumes"], env, check=False)


def _run(command: list[str], env: dict[str, str], *, check: bool = True) -> None:
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command[2:])} failed (exit {done.returncode}):\n{done.stderr}")


def _create_topics_when_kafka_answers(timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            ensure_topics(admin_client(), [TopicSpec(name) for name in TOPICS], timeout_s=5)
            return
        except KafkaException:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
