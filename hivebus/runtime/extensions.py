"""Where capabilities above the runtime turn a declared agent into the agents a worker runs.

The runtime knows nothing of durable runs (they live a layer up, in `hivebus.durable`), yet
`Worker([Agent(..., durable=True)])` must run one. A capability registers an expander when
it is imported (`import hivebus` imports them all); the worker expands its agents before it
builds their runners. An expander returns the agents that replace one, or None to pass.
"""

from __future__ import annotations

from collections.abc import Callable

from hivebus.errors import ConfigError
from hivebus.runtime.agent import Agent

Expander = Callable[[Agent], list[Agent] | None]
_EXPANDERS: list[Expander] = []


def register(expander: Expander) -> None:
    if expander not in _EXPANDERS:
        _EXPANDERS.append(expander)


def expand(agents: list[Agent]) -> list[Agent]:
    """`agents` with each one an expander claims replaced by what it returns."""
    result: list[Agent] = []
    for agent in agents:
        for expander in _EXPANDERS:
            replaced = expander(agent)
            if replaced is not None:
                result.extend(replaced)
                break
        else:
            if agent.durable:
                raise ConfigError(
                    f"agent {agent.name!r} is durable, but durable runs are not loaded: "
                    "import hivebus (or hivebus.durable) before starting the worker"
                )
            result.append(agent)
    return result
