"""The gateway: tasks over HTTP (a task is a durable run), with live status streams over
Server-Sent Events and WebSockets, read from Kafka by any replica (see docs/gateway.md)."""

from hivebus.gateway.app import create_app
from hivebus.gateway.service import Settings

__all__ = ["Settings", "create_app"]
