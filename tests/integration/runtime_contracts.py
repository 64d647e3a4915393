"""Contracts the runtime tests publish and handle: the same models the replica agent uses."""

from tests.integration.agents.contracts import Ping, Pong

__all__ = ["Ping", "Pong"]
