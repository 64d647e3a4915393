"""The blackboard's contracts: the Python faces of `hivebus/patterns/schemas/blackboard/*.avsc`."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from hivebus.contracts import Record

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "blackboard"
OPEN, CLOSED = "open", "closed"


class Post(Record, avsc=SCHEMAS / "Post.avsc"):
    board_id: str
    author: str
    kind: str
    content: str = ""
    based_on_version: int = 0
    hop: int = 0
    post_id: str = ""


class Entry(Record, avsc=None):
    """One post the board took (nested in `BoardState`; bound through it)."""

    post_id: str
    author: str
    kind: str
    content: str
    version: int
    based_on_version: int
    hop: int


class BoardState(Record, avsc=SCHEMAS / "BoardState.avsc"):
    board_id: str
    version: int
    status: str
    entries: list[Entry] = Field(default_factory=list)
    last_author: str = ""
    hop: int = 0
    closed_by: str | None = None
    conclusion: str | None = None

    @property
    def closed(self) -> bool:
        return self.status == CLOSED

    def of_kind(self, kind: str) -> list[Entry]:
        """The entries of one kind, oldest first."""
        return [entry for entry in self.entries if entry.kind == kind]


class Refusal(Record, avsc=SCHEMAS / "Refusal.avsc"):
    board_id: str
    post_id: str
    author: str
    kind: str
    code: str
    reason: str
    version: int
    hop: int
