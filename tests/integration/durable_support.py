"""Reading a durable agent's journal in tests: the package's own reader, on the test stack."""

from __future__ import annotations

from hivebus.contracts import Serde
from hivebus.durable import RunJournal
from hivebus.durable.reader import read_journals


def journals(serde: Serde, agent: str) -> dict[str, RunJournal]:
    return read_journals(serde, agent)
