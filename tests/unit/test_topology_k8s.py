"""Kubernetes manifests rendered from topology/payments.yaml, validated offline for real:
core objects against the Kubernetes OpenAPI schemas (kubernetes-validate, strict), the
ScaledObject against KEDA's CRD models (cloudcoil-models-keda), KafkaTopic against the fields
of Strimzi's v1beta2 CRD. Each validator is first shown to reject a broken manifest.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml
from cloudcoil.models.keda.v1alpha1 import ScaledObject

from hivebus.cli import topology_render
from hivebus.errors import HivebusError
from hivebus.topology import Loaded, Wired, load_topology, wire
from hivebus.topology.k8s import render_k8s, to_yaml
from hivebus.topology.k8s_names import dns_label, dns_subdomain, is_dns_label, is_dns_subdomain
from hivebus.topology.k8s_workloads import DRAIN_GRACE_S

ROOT = Path(__file__).resolve().parents[2]
PAYMENTS = ROOT / "topology" / "payments.yaml"
K8S_VERSIONS = ["1.25", "1.31", "1.37"]  # oldest, the brief's, newest that the package ships
IN_IMAGE = "/app/topology/payments.yaml"

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def loaded() -> Loaded:
    return load_topology(PAYMENTS)


@pytest.fixture(scope="module")
def wired(loaded: Loaded) -> list[Wired]:
    return wire(loaded)


def render(loaded: Loaded, wired: list[Wired], **options: Any) -> list[Manifest]:
    settings: dict[str, Any] = {
        "image": "registry.example.com/payments:1.0",
        "namespace": "payments",
        "topology_path_in_image": IN_IMAGE,
        "strimzi": True,
        "bootstrap": "kafka.example:9092",
        "registry": "http://registry.example:8081",
    }
    return render_k8s(loaded, wired, **(settings | options))


@pytest.fixture(scope="module")
def manifests(loaded: Loaded, wired: list[Wired]) -> list[Manifest]:
    # Through YAML and back: what is validated is what `kubectl apply` would read.
    return list(yaml.safe_load_all(to_yaml(render(loaded, wired))))


def of_kind(manifests: list[Manifest], kind: str) -> list[Manifest]:
    return [m for m in manifests if m["kind"] == kind]


def by_agent(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["annotations"]["hivebus.io/agent"]: m for m in of_kind(manifests, kind)}


# --- the validators ------------------------------------------------------------------------


def k8s_validate(manifest: Manifest, version: str = "1.31") -> None:
    kubernetes_validate.validate(manifest, version, strict=True)


def _closed(schema: Any) -> Any:
    """pydantic leaves objects open; the CRD's structural schema prunes unknown fields
    silently, so a misspelt field would vanish in the cluster. Close every object that lists
    its properties so a typo fails here instead."""
    if isinstance(schema, dict):
        closed = {key: _closed(value) for key, value in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


KEDA_SCHEMA = _closed(ScaledObject.model_json_schema(by_alias=True))


def keda_validate(manifest: Manifest) -> None:
    jsonschema.validate(manifest, KEDA_SCHEMA)
    ScaledObject.model_validate(manifest)  # the models' own checks, beyond the schema


# The `spec` of kafkatopics.kafka.strimzi.io/v1beta2 (Strimzi's 043-Crd-kafkatopic.yaml):
# partitions >= 1, replicas 1..32767, a free-form config, topicName; closed, as above.
STRIMZI_TOPIC_SCHEMA = {
    "type": "object",
    "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "kafka.strimzi.io/v1beta2"},
        "kind": {"const": "KafkaTopic"},
        "metadata": {
            "type": "object",
            "required": ["name", "labels"],
            "properties": {
                "labels": {
                    "type": "object",
                    "required": ["strimzi.io/cluster"],
                    "additionalProperties": {"type": "string"},
                },
            },
        },
        "spec": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "partitions": {"type": "integer", "minimum": 1},
                "replicas": {"type": "integer", "minimum": 1, "maximum": 32767},
                "config": {"type": "object"},
                "topicName": {"type": "string"},
            },
        },
    },
}


def strimzi_validate(manifest: Manifest) -> None:
    jsonschema.validate(manifest, STRIMZI_TOPIC_SCHEMA)
    assert is_dns_subdomain(manifest["metadata"]["name"])


# --- the validators are live --------------------------------------------------------------


def test_kubernetes_validate_rejects_a_broken_deployment(manifests: list[Manifest]) -> None:
    broken = copy.deepcopy(of_kind(manifests, "Deployment")[0])
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError, match="two"):
        k8s_validate(broken)
    misspelt = copy.deepcopy(of_kind(manifests, "Deployment")[0])
    misspelt["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenesProbe"):
        k8s_validate(misspelt)
    no_port = copy.deepcopy(of_kind(manifests, "Deployment")[0])
    del no_port["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    with pytest.raises(kubernetes_validate.ValidationError, match="containerPort"):
        k8s_validate(no_port)


def test_keda_schema_rejects_a_broken_scaled_object(manifests: list[Manifest]) -> None:
    scaled = of_kind(manifests, "ScaledObject")[0]
    wrong_count = copy.deepcopy(scaled)
    wrong_count["spec"]["maxReplicaCount"] = "six"
    with pytest.raises(jsonschema.ValidationError):
        keda_validate(wrong_count)
    # Trigger metadata is a map of strings in KEDA's CRD: a bare number is refused.
    numeric = copy.deepcopy(scaled)
    numeric["spec"]["triggers"][0]["metadata"]["lagThreshold"] = 500
    with pytest.raises(jsonschema.ValidationError):
        keda_validate(numeric)
    misspelt = copy.deepcopy(scaled)
    misspelt["spec"]["scaleTargetRef"]["nme"] = misspelt["spec"]["scaleTargetRef"].pop("name")
    with pytest.raises(jsonschema.ValidationError):
        keda_validate(misspelt)


def test_strimzi_schema_rejects_a_broken_topic(manifests: list[Manifest]) -> None:
    topic = of_kind(manifests, "KafkaTopic")[0]
    for field, value in (("partitions", 0), ("replicas", "three"), ("partitons", 3)):
        broken = copy.deepcopy(topic)
        broken["spec"][field] = value
        with pytest.raises(jsonschema.ValidationError):
            strimzi_validate(broken)


# --- every rendered manifest validates ----------------------------------------------------


@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_core_manifests_validate_against_kubernetes(
    manifests: list[Manifest], version: str
) -> None:
    core = [m for m in manifests if m["kind"] in ("ConfigMap", "Deployment")]
    assert len(core) == 3
    for manifest in core:
        assert kubernetes_validate.validate(manifest, version, strict=True) == version


def test_scaled_objects_validate_against_keda(manifests: list[Manifest]) -> None:
    scaled = of_kind(manifests, "ScaledObject")
    assert len(scaled) == 2
    for manifest in scaled:
        keda_validate(manifest)


def test_kafka_topics_validate_against_strimzi(manifests: list[Manifest]) -> None:
    topics = of_kind(manifests, "KafkaTopic")
    assert {t["spec"]["topicName"] for t in topics} == {
        "transactions.card", "transactions.wire", "transactions.flagged", "compliance.decisions",
        "hivebus.audit", "hivebus.audit.blobs",  # the audit's, with their retention
    }  # fmt: skip
    for manifest in topics:
        strimzi_validate(manifest)
    card = next(t for t in topics if t["spec"]["topicName"] == "transactions.card")
    assert card["spec"]["partitions"] == 3
    assert card["spec"]["config"] == {"retention.ms": str(7 * 86_400_000)}
    assert "replicas" not in card["spec"]  # replication -1: the broker's default
    audit = next(t for t in topics if t["spec"]["topicName"] == "hivebus.audit")
    assert audit["spec"]["config"] == {
        "retention.ms": str(90 * 86_400_000),
        "cleanup.policy": "delete",
    }
    assert card["metadata"]["labels"]["strimzi.io/cluster"] == "my-cluster"


def test_the_cli_validator_agrees_on_the_written_file(
    loaded: Loaded, wired: list[Wired], tmp_path: Path
) -> None:
    out = tmp_path / "payments.yaml"
    topology_render.write(render(loaded, wired, strimzi=False), str(out))
    cli = Path(sys.executable).with_name("kubernetes-validate")
    result = subprocess.run(
        [str(cli), "-k", "1.31", "--strict", "--no-warn", str(out)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("passed") == 3  # ConfigMap + 2 Deployments; CRDs are not its job


# --- what the manifests say ---------------------------------------------------------------


def test_one_deployment_and_one_scaled_object_per_agent(
    manifests: list[Manifest], wired: list[Wired]
) -> None:
    names = sorted(one.name for one in wired)
    assert sorted(by_agent(manifests, "Deployment")) == names
    assert sorted(by_agent(manifests, "ScaledObject")) == names  # both set scaling
    assert len(of_kind(manifests, "Deployment")) == len(names)


def test_triggers_cover_exactly_the_topics_each_agent_reads(
    manifests: list[Manifest], wired: list[Wired]
) -> None:
    scaled = by_agent(manifests, "ScaledObject")
    for one in wired:
        spec = scaled[one.name]["spec"]
        assert one.entry.scaling is not None
        triggers = spec["triggers"]
        assert sorted(t["metadata"]["topic"] for t in triggers) == sorted(one.reads)
        for trigger in triggers:
            assert trigger["type"] == "kafka"
            meta = trigger["metadata"]
            assert meta["consumerGroup"] == one.name
            assert meta["lagThreshold"] == str(one.entry.scaling.lag)
            assert meta["offsetResetPolicy"] == "earliest"
            assert meta["bootstrapServers"] == "kafka.example:9092"
        assert spec["minReplicaCount"] == one.entry.scaling.min_replicas
        assert spec["maxReplicaCount"] == one.entry.scaling.max_replicas
        assert spec["scaleTargetRef"]["name"] == scaled[one.name]["metadata"]["name"]
    fraud = scaled["fraud-detector"]["spec"]["triggers"]
    assert {t["metadata"]["topic"] for t in fraud} == {"transactions.card", "transactions.wire"}
    # Two topics: KEDA's per-topic partition cap would stop it at 3 of its 6 replicas.
    assert all(t["metadata"]["allowIdleConsumers"] == "true" for t in fraud)


def test_deployments_probe_and_run_the_agent(manifests: list[Manifest], wired: list[Wired]) -> None:
    deployments = by_agent(manifests, "Deployment")
    for one in wired:
        deploy = deployments[one.name]
        pod = deploy["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        port = one.entry.metrics_port
        assert container["ports"] == [{"name": "metrics", "containerPort": port, "protocol": "TCP"}]
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
        assert container["command"][:7] == [
            "hivebus", "run", IN_IMAGE, "--agent", one.name, "--metrics-port", str(port),
        ]  # fmt: skip
        assert container["command"][7:] == ["--grace", f"{DRAIN_GRACE_S:g}"]
        assert pod["terminationGracePeriodSeconds"] > DRAIN_GRACE_S
        assert container["image"] == "registry.example.com/payments:1.0"
        # KEDA owns the count: a replicas field would be reset by every `kubectl apply`.
        assert "replicas" not in deploy["spec"]
        labels = deploy["metadata"]["labels"]
        assert labels["app.kubernetes.io/name"] == one.name
        assert labels["app.kubernetes.io/part-of"] == "payments"
        selector = deploy["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deploy["spec"]["template"]["metadata"]["labels"].items()
        scrape = deploy["spec"]["template"]["metadata"]["annotations"]
        assert scrape["prometheus.io/scrape"] == "true"
        assert scrape["prometheus.io/port"] == str(port)
        assert deploy["metadata"]["namespace"] == "payments"


def test_pods_are_locked_down(manifests: list[Manifest]) -> None:
    for deploy in of_kind(manifests, "Deployment"):
        pod = deploy["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert isinstance(pod["securityContext"]["runAsUser"], int)
        security = container["securityContext"]
        assert security["allowPrivilegeEscalation"] is False
        assert security["readOnlyRootFilesystem"] is True
        assert security["capabilities"] == {"drop": ["ALL"]}
        assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]


def test_resources_come_from_the_topology(manifests: list[Manifest]) -> None:
    container = by_agent(manifests, "Deployment")["fraud-detector"]["spec"]["template"]["spec"][
        "containers"
    ][0]
    assert container["resources"] == {
        "requests": {"cpu": "250m", "memory": "256Mi"},
        "limits": {"memory": "512Mi"},
    }


def test_connection_settings_and_a_secret_reference_not_a_secret(
    manifests: list[Manifest],
) -> None:
    assert not of_kind(manifests, "Secret")
    (config,) = of_kind(manifests, "ConfigMap")
    assert config["data"] == {
        "KAFKA_BOOTSTRAP_SERVERS": "kafka.example:9092",
        "SCHEMA_REGISTRY_URL": "http://registry.example:8081",
    }
    for deploy in of_kind(manifests, "Deployment"):
        env_from = deploy["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": config["metadata"]["name"]}} in env_from
        assert {"secretRef": {"name": "hivebus-credentials", "optional": True}} in env_from


def test_without_scaling_the_topology_sets_the_replicas(loaded: Loaded, wired: list[Wired]) -> None:
    fixed = [
        dataclasses.replace(one, entry=one.entry.model_copy(update={"scaling": None}))
        for one in wired
    ]
    made = render(loaded, fixed, strimzi=False)
    assert not of_kind(made, "ScaledObject") and not of_kind(made, "KafkaTopic")
    deployments = by_agent(made, "Deployment")
    assert deployments["fraud-detector"]["spec"]["replicas"] == 2
    assert deployments["compliance-officer"]["spec"]["replicas"] == 1
    for deploy in deployments.values():
        k8s_validate(deploy)


def test_agent_env_is_passed_through(loaded: Loaded, wired: list[Wired]) -> None:
    entry = wired[0].entry.model_copy(update={"env": {"LOG_FORMAT": "json"}})
    made = render(loaded, [dataclasses.replace(wired[0], entry=entry)])
    env = of_kind(made, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["env"]
    assert {"name": "LOG_FORMAT", "value": "json"} in env


def test_keda_auth_is_referenced_by_every_trigger(loaded: Loaded, wired: list[Wired]) -> None:
    made = render(loaded, wired, keda_auth="kafka-sasl")
    for scaled in of_kind(made, "ScaledObject"):
        keda_validate(scaled)
        for trigger in scaled["spec"]["triggers"]:
            assert trigger["authenticationRef"] == {"name": "kafka-sasl"}


# --- names Kubernetes would refuse --------------------------------------------------------


def test_agent_names_map_to_dns_names_and_keep_the_real_one(
    loaded: Loaded, wired: list[Wired]
) -> None:
    odd = [
        dataclasses.replace(wired[0], name="Fraud.Detector_v2"),
        dataclasses.replace(wired[1], name="fraud.detector.v2"),
    ]
    made = render(loaded, odd)
    deployments = of_kind(made, "Deployment")
    names = [d["metadata"]["name"] for d in deployments]
    assert len(set(names)) == 2 and all(is_dns_label(name) for name in names)
    for deploy, one in zip(deployments, odd, strict=True):
        assert deploy["metadata"]["annotations"]["hivebus.io/agent"] == one.name
        command = deploy["spec"]["template"]["spec"]["containers"][0]["command"]
        assert command[command.index("--agent") + 1] == one.name
        k8s_validate(deploy)
    for scaled in of_kind(made, "ScaledObject"):
        keda_validate(scaled)
        assert scaled["spec"]["scaleTargetRef"]["name"] == scaled["metadata"]["name"]
        assert scaled["spec"]["triggers"][0]["metadata"]["consumerGroup"] in {o.name for o in odd}


def test_dns_names_are_deterministic_and_distinct() -> None:
    assert dns_label("fraud-detector") == "fraud-detector"  # already valid: unchanged
    assert dns_label("a.b") == dns_label("a.b")
    assert len({dns_label("a.b"), dns_label("a_b"), dns_label("a-b")}) == 3
    long = dns_label("x" * 200)
    assert is_dns_label(long) and len(long) == 63
    assert dns_subdomain("transactions.card") == "transactions.card"
    for topic in ("Orders_EU", "a..b", "x" * 249, "_private", "tasks.-odd"):
        assert is_dns_subdomain(dns_subdomain(topic)), topic


def test_scaling_with_nothing_to_read_is_refused(loaded: Loaded, wired: list[Wired]) -> None:
    with pytest.raises(HivebusError, match="reads no declared topic"):
        render(loaded, [dataclasses.replace(wired[0], reads=[])])


# --- the command --------------------------------------------------------------------------


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hivebus topology")
    topology_render.register(parser.add_subparsers(dest="action", required=True))
    return parser


def run_command(argv: list[str]) -> int:
    args = command_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


def test_command_prints_yaml_documents(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_command(["render", "k8s", str(PAYMENTS), "--namespace", "ns1"]) == 0
    documents = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [d["kind"] for d in documents] == [
        "ConfigMap", "Deployment", "ScaledObject", "Deployment", "ScaledObject",
    ]  # fmt: skip
    assert {d["metadata"]["namespace"] for d in documents} == {"ns1"}
    assert "&id" not in to_yaml(documents)  # no YAML anchors for humans to puzzle over


def test_command_writes_a_folder_and_replaces_an_earlier_render(tmp_path: Path) -> None:
    out = tmp_path / "k8s"
    out.mkdir()
    (out / "09-deployment-removed-agent.yaml").write_text("stale\n")
    (out / "kustomization.yaml").write_text("kept\n")
    argv = ["render", "k8s", str(PAYMENTS), "--strimzi", "--image", "img:1", "-o", str(out)]
    assert run_command(argv) == 0
    files = sorted(p.name for p in out.iterdir())
    assert "09-deployment-removed-agent.yaml" not in files and "kustomization.yaml" in files
    rendered = sorted(f for f in files if f != "kustomization.yaml")
    assert rendered[0] == "00-configmap-payments-kafka.yaml"
    assert len(rendered) == 1 + 6 + 2 + 2  # configmap, topics (2 the audit's), agents
    for name in rendered:
        (document,) = yaml.safe_load_all((out / name).read_text())
        if document["kind"] in ("ConfigMap", "Deployment"):
            k8s_validate(document)


def test_command_path_in_image(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    assert topology_render.path_in_image(Path("topology/payments.yaml")) == IN_IMAGE
    assert topology_render.path_in_image(PAYMENTS) == IN_IMAGE
    monkeypatch.chdir(tmp_path)
    assert topology_render.path_in_image(PAYMENTS) == IN_IMAGE  # elsewhere: topology/<name>


def test_command_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        command_parser().parse_args(["render", "k8s", "--help"])
    text = capsys.readouterr().out
    assert "hivebus topology render k8s topology/payments.yaml" in text
    assert "hivebus-credentials" in text


def test_command_errors_are_hivebus_errors(tmp_path: Path) -> None:
    with pytest.raises(HivebusError):
        run_command(["render", "k8s", str(tmp_path / "missing.yaml")])
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(HivebusError, match="cannot write"):
        run_command(["render", "k8s", str(PAYMENTS), "-o", str(blocker / "out")])


def test_rendered_command_is_one_hivebus_run_accepts(manifests: list[Manifest]) -> None:
    """The Deployment and `hivebus run` agree on the flags (the image's entrypoint is hivebus)."""
    from hivebus.cli import build_parser

    for deploy in of_kind(manifests, "Deployment"):
        command = deploy["spec"]["template"]["spec"]["containers"][0]["command"]
        args = build_parser().parse_args(command[1:])
        assert args.command == "run"
        assert args.specs == [IN_IMAGE]
        assert args.agent == [deploy["metadata"]["annotations"]["hivebus.io/agent"]]
        port = deploy["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
        assert args.metrics_port == port
        assert args.grace == DRAIN_GRACE_S
