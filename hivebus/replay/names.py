"""Shadow topic names: where a replay's outputs go instead of the live topics.

`hivebus.shadow.<replay id>.<live topic>`. The prefix, not a suffix, on purpose: live agents
subscribe to patterns such as `transactions.*`, and `transactions.flagged.shadow.x` would
match them, so a live agent would consume (and commit offsets on) a replay's outputs. Names
under `hivebus.` are system topics, which no business pattern is written to match.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from hivebus.errors import ConfigError

PREFIX = "hivebus.shadow."
_ID = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
MAX_TOPIC = 249  # Kafka's limit on a topic name


def new_replay_id() -> str:
    return "r" + uuid.uuid4().hex[:8]


def is_shadow(topic: str) -> bool:
    return topic.startswith(PREFIX)


@dataclass(frozen=True)
class ShadowNames:
    """The shadow topics of one replay."""

    replay_id: str

    def __post_init__(self) -> None:
        if not _ID.match(self.replay_id):
            raise ConfigError(
                f"replay id {self.replay_id!r} must be 1-40 letters, digits, '_' or '-'"
            )

    @property
    def prefix(self) -> str:
        return f"{PREFIX}{self.replay_id}."

    def shadow(self, topic: str) -> str:
        """The shadow of a live topic; a shadow topic of this replay stays as it is."""
        if topic.startswith(self.prefix):
            return topic
        name = self.prefix + topic
        if len(name) > MAX_TOPIC:
            raise ConfigError(f"the shadow of topic {topic} would be longer than {MAX_TOPIC}")
        return name

    def live(self, topic: str) -> str:
        """The live topic a shadow topic of this replay stands for."""
        return topic[len(self.prefix) :] if topic.startswith(self.prefix) else topic

    def owns(self, topic: str) -> bool:
        return topic.startswith(self.prefix)
