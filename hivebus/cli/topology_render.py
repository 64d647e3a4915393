"""`hivebus topology render k8s`: Kubernetes manifests from a topology file, offline."""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path, PurePosixPath
from typing import Any

from hivebus.errors import HivebusError
from hivebus.topology import load_topology, wire
from hivebus.topology.k8s import (
    DEFAULT_BOOTSTRAP,
    DEFAULT_CLUSTER,
    DEFAULT_REGISTRY,
    file_name,
    render_k8s,
    to_yaml,
)

_RENDERED = re.compile(r"^\d{2,}-(configmap|deployment|scaledobject|kafkatopic)-.+\.yaml$")
IMAGE_ROOT = PurePosixPath("/app")  # where the image keeps the project (deploy/Dockerfile)
_EXAMPLE = """\
examples:
  hivebus topology render k8s topology/payments.yaml --image registry.example.com/payments:1.4 \\
      --namespace payments --bootstrap my-cluster-kafka-bootstrap.kafka:9092 | kubectl apply -f -
  hivebus topology render k8s topology/payments.yaml --strimzi --output deploy/k8s/

--output: '-' (default) prints to stdout; a name ending .yaml or .yml is one file; anything
else is a folder with one numbered file per object (kubectl apply -f FOLDER keeps the order).
Credentials are not rendered: create the Secret hivebus-credentials yourself (docs/kubernetes.md).
"""


def register(actions: Any) -> None:
    """Add `render k8s` under `hivebus topology`."""
    render = actions.add_parser(
        "render",
        help="write deployment manifests for a topology (Kubernetes)",
        description="Turn a topology file into manifests for a platform; nothing is applied.",
    )
    targets = render.add_subparsers(dest="render_target", metavar="<platform>", required=True)
    k8s = targets.add_parser(
        "k8s",
        help="Deployments, KEDA ScaledObjects, a ConfigMap and optionally Strimzi KafkaTopics",
        description=(
            "Render one Deployment per agent (probes on /healthz and /readyz at its metrics\n"
            "port, non-root, read-only root filesystem), a KEDA ScaledObject scaling on\n"
            "consumer lag for each agent with `scaling`, a ConfigMap with the Kafka and\n"
            "registry addresses, and with --strimzi a KafkaTopic per declared topic. The\n"
            "agents are imported to learn the topics they read; no cluster is contacted."
        ),
        epilog=_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    k8s.add_argument(
        "file", type=Path, metavar="FILE", help="the topology, e.g. topology/payments.yaml"
    )
    k8s.add_argument("--image", help="the agents' image (default hivebus:<installed version>)")
    k8s.add_argument(
        "--namespace", default="default", help="namespace of every object (default: default)"
    )
    k8s.add_argument(
        "--bootstrap", default=DEFAULT_BOOTSTRAP,
        help=f"Kafka bootstrap servers, for the agents and KEDA (default {DEFAULT_BOOTSTRAP})",
    )  # fmt: skip
    k8s.add_argument(
        "--registry", default=DEFAULT_REGISTRY,
        help=f"schema registry URL (Confluent API; default {DEFAULT_REGISTRY})",
    )  # fmt: skip
    k8s.add_argument(
        "--path-in-image", metavar="PATH",
        help=f"the topology file inside the image (default {IMAGE_ROOT}/<FILE relative to here>)",
    )  # fmt: skip
    k8s.add_argument("--strimzi", action="store_true", help="also render Strimzi KafkaTopics")
    k8s.add_argument(
        "--strimzi-cluster", default=DEFAULT_CLUSTER, metavar="NAME",
        help=f"the Strimzi Kafka resource the topics belong to (default {DEFAULT_CLUSTER})",
    )  # fmt: skip
    k8s.add_argument(
        "--keda-auth",
        metavar="NAME",
        help="a KEDA TriggerAuthentication the scalers use (SASL/TLS clusters)",
    )
    k8s.add_argument(
        "--output",
        "-o",
        default="-",
        metavar="DIR|FILE|-",
        help="stdout (-), one .yaml file, or a folder (default -)",
    )
    k8s.set_defaults(handler=render_k8s_command)


def render_k8s_command(args: argparse.Namespace) -> int:
    loaded = load_topology(args.file)
    manifests = render_k8s(
        loaded, wire(loaded),
        image=args.image or _default_image(), namespace=args.namespace,
        topology_path_in_image=args.path_in_image or path_in_image(args.file),
        strimzi=args.strimzi, bootstrap=args.bootstrap, registry=args.registry,
        strimzi_cluster=args.strimzi_cluster, keda_auth=args.keda_auth,
    )  # fmt: skip
    write(manifests, args.output)
    return 0


def path_in_image(file: Path) -> str:
    """FILE as the image sees it: its path from the working folder, under /app; a file from
    elsewhere is assumed to sit in the image's topology/ folder."""
    try:
        relative = file.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        relative = Path("topology") / file.name
    return str(IMAGE_ROOT / PurePosixPath(*relative.parts))


def write(manifests: list[dict[str, Any]], output: str) -> None:
    if output == "-":
        sys.stdout.write(to_yaml(manifests))
        return
    target = Path(output)
    try:
        if target.suffix in (".yaml", ".yml"):
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(to_yaml(manifests), encoding="utf-8")
            print(f"wrote {len(manifests)} objects to {target}", file=sys.stderr)
            return
        target.mkdir(parents=True, exist_ok=True)
        # A file from an earlier render of a since-removed agent would still be applied.
        for old in target.iterdir():
            if _RENDERED.match(old.name):
                old.unlink()
        for index, manifest in enumerate(manifests):
            (target / file_name(index, manifest)).write_text(to_yaml([manifest]), encoding="utf-8")
    except OSError as error:
        raise HivebusError(f"cannot write {target}: {error.strerror or error}") from None
    print(f"wrote {len(manifests)} files to {target}{os.sep}", file=sys.stderr)


def _default_image() -> str:
    try:
        return f"hivebus:{version('hivebus')}"
    except PackageNotFoundError:  # running from a source tree that was never installed
        return "hivebus:latest"
