"""A real OpenTelemetry Collector for the OTLP test.

Built with Go from tests/otelcol (the collector's own receiver and exporter modules, pinned
in its go.sum) into the hivebus cache, once per version of its sources; started with the
OTLP/HTTP receiver on a free port and the debug exporter, which writes every span it
receives to the collector's log in detail; what it received is read back from that log.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from hivebus.dev.settings import StackSettings
from tests.integration.ports import free_ports

SOURCE = Path(__file__).parents[1] / "otelcol"
BUILD_TIMEOUT_S = 900
READY = "Everything is ready"
CONFIG = """receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{port}
exporters:
  debug:
    verbosity: detailed
service:
  telemetry:
    metrics:
      level: none
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [debug]
"""


def collector_binary() -> Path:
    """The collector, built once per version of tests/otelcol (about a minute the first time,
    with the module downloads)."""
    digest = hashlib.sha256()
    for name in ("main.go", "go.mod", "go.sum"):
        digest.update((SOURCE / name).read_bytes())
    target = StackSettings.from_env().cache_dir / "otelcol" / digest.hexdigest()[:12] / "otelcol"
    if target.exists():
        return target
    go = shutil.which("go")
    if go is None:
        raise RuntimeError("the OTLP test builds an OpenTelemetry Collector with Go 1.26: put "
                           "`go` on the PATH (`.ci/run` fetches that toolchain from the Go "
                           "module proxy when there is none)")  # fmt: skip
    print(f"building the OpenTelemetry Collector from {SOURCE} into {target} ...",
          file=sys.stderr, flush=True)  # fmt: skip
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(".partial")
    subprocess.run(
        [go, "build", "-o", str(partial), "."], cwd=SOURCE, check=True, timeout=BUILD_TIMEOUT_S,
        env={**os.environ, "GOFLAGS": "-mod=readonly"},
    )  # fmt: skip
    partial.replace(target)
    return target


@dataclass
class ReceivedSpan:
    service: str
    trace_id: str = ""
    span_id: str = ""
    parent_id: str = ""
    name: str = ""
    kind: str = ""
    attributes: dict[str, str] = field(default_factory=dict)


class Collector:
    """`with Collector(folder) as collector:` runs one; `collector.endpoint` is for
    OTEL_EXPORTER_OTLP_ENDPOINT, `collector.spans()` what it has received so far."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.log = folder / "otelcol.log"
        [self.port] = free_ports(1)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Collector:
        config = self.folder / "otelcol.yaml"
        config.write_text(CONFIG.format(port=self.port))
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [str(collector_binary()), "--config", f"file:{config}"], stdout=log, stderr=log
            )
        deadline = time.monotonic() + 30
        while READY not in self.log.read_text(errors="replace"):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.__exit__(None, None, None)
                raise RuntimeError(f"the collector did not start:\n{self.log.read_text()[-3000:]}")
            time.sleep(0.1)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:  # fmt: skip
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()

    def spans(self) -> list[ReceivedSpan]:
        """Every span the debug exporter has written so far, with its resource's service."""
        return parse(self.log.read_text(errors="replace"))


def parse(text: str) -> list[ReceivedSpan]:
    """The spans in the debug exporter's detailed output."""
    found: list[ReceivedSpan] = []
    service, span, section = "", None, ""
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("Resource attributes:"):
            section, span = "resource", None
        elif stripped.startswith("Span #"):
            span = ReceivedSpan(service)
            found.append(span)
            section = "span"
        elif stripped.startswith("Attributes:") and span is not None:
            section = "attributes"
        elif stripped.startswith(("Events:", "Links:")):
            section = "other"  # (their own `->` lines are not the span's attributes)
        elif stripped.startswith("->") and ":" in stripped:
            key, _, value = stripped[2:].strip().partition(": ")
            shown = value[value.index("(") + 1 : -1] if "(" in value else value
            if section == "resource" and key == "service.name":
                service = shown
            elif section == "attributes" and span is not None:
                span.attributes[key] = shown
        elif span is not None and " : " in line:
            key, _, value = (part.strip() for part in line.partition(" : "))
            fields = {"Trace ID": "trace_id", "ID": "span_id", "Parent ID": "parent_id",
                      "Name": "name", "Kind": "kind"}  # fmt: skip
            if key in fields:
                setattr(span, fields[key], value)
            section = "span" if section == "attributes" else section
    return found
