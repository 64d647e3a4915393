"""A2A 1.0 in the gateway, through the official `a2a-sdk`: agent cards from the directory,
and tasks that are durable runs, their state and events read from Kafka by any replica
(see docs/gateway.md, "A2A")."""

from hivebus.gateway.a2a.contracts import A2AArtifact, A2AMessage, A2APart, A2AReply
from hivebus.gateway.a2a.routes import a2a_routes

__all__ = ["A2AArtifact", "A2AMessage", "A2APart", "A2AReply", "a2a_routes"]
