"""Helpers for users' own tests.

`AgentHarness` drives an agent's handlers in-process, with no broker or registry (unit tests).
For integration tests on a real broker and registry: `testing.stack.provide_stack`,
`testing.worker.running` and `testing.reader.read_events`.
"""

from hivebus.testing.harness import (
    AgentHarness,
    DeadLetter,
    NotSubscribed,
    Published,
    SendResult,
)

__all__ = ["AgentHarness", "DeadLetter", "NotSubscribed", "Published", "SendResult"]
