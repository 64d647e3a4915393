"""A real Kafka broker and schema registry for a test session, whichever way one can be had.

In order: the cluster named by `KAFKA_BOOTSTRAP_SERVERS` and `SCHEMA_REGISTRY_URL`; containers
through testcontainers when a Docker engine answers; else the local processes of `hivebus dev`
(started if needed, and stopped afterwards only if this session started them).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from hivebus.dev import Endpoints, LocalStack, external_endpoints
from hivebus.dev.health import registry_ok
from hivebus.dev.registry_node import GLOBAL_COMPATIBILITY
from hivebus.errors import HivebusError

KAFKA_IMAGE = "confluentinc/cp-kafka:7.9.0"
REGISTRY_IMAGE = "apicurio/apicurio-registry:3.3.3"


@contextmanager
def provide_stack(progress: Callable[[str], None] = print) -> Iterator[Endpoints]:
    """Yield endpoints of a running broker and registry for the duration of the block."""
    if external := external_endpoints():
        progress(f"using the external cluster {external.bootstrap_servers}")
        yield external
    elif docker_available():
        progress("starting Kafka and the registry in containers (testcontainers)")
        with _containers() as endpoints:
            yield endpoints
    else:
        stack = LocalStack()
        report = stack.up(progress)
        try:
            yield stack.endpoints
        finally:
            if report.started:
                stack.down(progress, only=report.started)


def docker_available() -> bool:
    """True when a Docker engine answers, not merely when the client is installed."""
    if shutil.which("docker") is None:
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0


def unique_name(prefix: str) -> str:
    """A topic or group name no other test (or earlier run) uses, so one stack serves all."""
    return f"{prefix}.{uuid.uuid4().hex[:10]}"


@contextmanager
def _containers() -> Iterator[Endpoints]:
    from testcontainers.community.kafka import KafkaContainer
    from testcontainers.core.container import DockerContainer

    kafka = (
        KafkaContainer(KAFKA_IMAGE)
        .with_kraft()
        .with_env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "1")
        .with_env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "1")
    )
    registry = DockerContainer(REGISTRY_IMAGE).with_exposed_ports(8080)
    with kafka, registry:
        host, port = registry.get_container_host_ip(), registry.get_exposed_port(8080)
        url = f"http://{host}:{port}/apis/ccompat/v7"
        deadline = time.monotonic() + 120
        while not registry_ok(url):
            if time.monotonic() > deadline:
                raise HivebusError(f"the registry container at {url} never became ready")
            time.sleep(0.5)
        httpx.put(f"{url}/config", json={"compatibility": GLOBAL_COMPATIBILITY}, timeout=10)
        yield Endpoints(kafka.get_bootstrap_server(), url)
