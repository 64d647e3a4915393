"""A new agent joins by subscription: declared in the topology, planned, applied, run, while
the agents already running are neither restarted nor touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from hivebus.contracts import Serde, registry_client
from hivebus.dev import Endpoints
from hivebus.runtime.loader import import_file
from hivebus.testing.reader import read_events
from hivebus.testing.stack import unique_name
from tests.integration.runtime_support import hivebus

RECORDS = {
    "Order": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
    "Checked": [{"name": "id", "type": "string"}, {"name": "ok", "type": "boolean"}],
    "Audited": [{"name": "id", "type": "string"}, {"name": "note", "type": "string"}],
}

CHECKER = """
from pathlib import Path
from hivebus import Agent, Context, Record

HERE = Path(__file__).parent
class Order(Record, avsc=HERE / "Order.avsc"):
    id: str
    amount: float

class Checked(Record, avsc=HERE / "Checked.avsc"):
    id: str
    ok: bool

checker = Agent("{checker}")

@checker.on("{orders}", Order, output="{checked}")
async def check(order: Order, ctx: Context) -> Checked:
    return Checked(id=order.id, ok=order.amount < 100)
"""

AUDITOR = """
from pathlib import Path
from hivebus import Agent, Context, Record
from .checker import Checked

HERE = Path(__file__).parent
class Audited(Record, avsc=HERE / "Audited.avsc"):
    id: str
    note: str

auditor = Agent("{auditor}")

@auditor.on("{checked}", Checked, output="{audited}")
async def audit(checked: Checked, ctx: Context) -> Audited:
    return Audited(id=checked.id, note="ok" if checked.ok else "refer")
"""


class Shop:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        tag = unique_name("n").split(".")[1]
        self.names = {
            "orders": f"shop_{tag}.orders", "checked": f"shop_{tag}.checked",
            "audited": f"shop_{tag}.audited", "checker": f"checker-{tag}",
            "auditor": f"auditor-{tag}",
        }  # fmt: skip
        self.namespace = f"test.shop{tag}"
        for name, fields in RECORDS.items():
            schema = {"type": "record", "name": name, "namespace": self.namespace,
                      "fields": fields}  # fmt: skip
            (folder / f"{name}.avsc").write_text(json.dumps(schema))
        (folder / "checker.py").write_text(CHECKER.format(**self.names))

    def topology(self, version: int) -> Path:
        n = self.names
        text = (
            f"name: shop\ntopics:\n  {n['orders']}: {{partitions: 2}}\n"
            f"  {n['checked']}: {{partitions: 2}}\n"
        )
        contracts = (
            f"contracts:\n  - schema: Order.avsc\n    topics: [{n['orders']}]\n"
            f"  - schema: Checked.avsc\n    topics: [{n['checked']}]\n"
        )
        agents = f"agents:\n  {n['checker']}:\n    module: checker.py:checker\n"
        if version == 2:
            (self.folder / "auditor.py").write_text(AUDITOR.format(**n))
            text += f"  {n['audited']}: {{partitions: 2}}\n"
            contracts += f"  - schema: Audited.avsc\n    topics: [{n['audited']}]\n"
            agents += f"  {n['auditor']}:\n    module: auditor.py:auditor\n"
        path = self.folder / f"shop.v{version}.yaml"
        path.write_text(text + contracts + agents)
        return path

    def model(self, module: str, name: str) -> type:
        return getattr(import_file(self.folder / f"{module}.py"), name)  # type: ignore[no-any-return]


def start(spec: Path, port: int, *agents: str) -> subprocess.Popen[bytes]:
    picked = [arg for agent in agents for arg in ("--agent", agent)]
    log = open(spec.parent / f"worker-{port}.log", "wb")  # noqa: SIM115 (the process owns it)
    process = subprocess.Popen(
        [sys.executable, "-m", "hivebus.cli", "run", str(spec), *picked, "--metrics-port",
         str(port), "--heartbeat", "1"],
        stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, (spec.parent / f"worker-{port}.log").read_text()
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            pass
        time.sleep(0.3)
    process.kill()
    raise AssertionError("the worker did not become ready within 60 s")


def members(admin: AdminClient, group: str) -> set[str]:
    described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return {member.member_id for member in described.members}


def publish_order(topic: str, schema: Path, order_id: str, amount: float) -> None:
    value = json.dumps({"id": order_id, "amount": amount})
    done = hivebus("publish", topic, "--schema", str(schema), "--key", order_id, "--json", value)
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(240)
async def test_a_new_agent_joins_by_subscription_without_touching_the_running_ones(
    stack: Endpoints, admin: AdminClient, tmp_path: Path,
) -> None:  # fmt: skip
    shop = Shop(tmp_path)
    n = shop.names
    v1 = shop.topology(1)
    assert hivebus("topology", "apply", str(v1)).returncode == 0
    serde = Serde(registry_client())
    checked_model = shop.model("checker", "Checked")

    first = start(v1, 19611)
    try:
        publish_order(n["orders"], tmp_path / "Order.avsc", "o-1", 40.0)
        [before] = await read_events(serde, n["checked"], checked_model, 1, timeout_s=60)
        assert before.event.id == "o-1"
        running_members = members(admin, n["checker"])
        assert running_members

        v2 = shop.topology(2)
        planned = hivebus("topology", "plan", str(v2))
        assert planned.returncode == 2, planned.stdout + planned.stderr
        changes = [line for line in planned.stdout.splitlines() if line.startswith("  ")]
        changes = [line for line in changes if not line.startswith("    ")]  # agents section
        assert changes, planned.stdout
        # Only additions, and only of what the new agent brings.
        assert all(line.lstrip().startswith("+") for line in changes), planned.stdout
        assert all(n["audited"] in line for line in changes), planned.stdout
        assert f"{n['auditor']}: new" in planned.stdout
        assert f"{n['checker']}: known to the directory" in planned.stdout

        assert hivebus("topology", "apply", str(v2)).returncode == 0
        second = start(v2, 19612, n["auditor"])
        try:
            publish_order(n["orders"], tmp_path / "Order.avsc", "o-2", 250.0)
            audited_model = shop.model("auditor", "Audited")
            audited = await read_events(serde, n["audited"], audited_model, 2, timeout_s=60)
            # The new agent read the checked topic from its start: both orders, in its words.
            assert {(r.event.id, r.event.note) for r in audited} == {("o-1", "ok"),
                                                                     ("o-2", "refer")}  # fmt: skip
            checked = await read_events(serde, n["checked"], checked_model, 2, timeout_s=30)
            assert {r.event.id for r in checked} == {"o-1", "o-2"}
        finally:
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=30) == 0
        # The first worker was never restarted and its group never rebalanced.
        assert first.poll() is None
        assert members(admin, n["checker"]) == running_members
    finally:
        first.send_signal(signal.SIGTERM)
        first.wait(timeout=30)
    assert first.returncode == 0
