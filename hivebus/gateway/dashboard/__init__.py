"""The gateway's live dashboard: a page at `/dashboard` showing the agents of the directory
(instances, lag, in-flight work, rates), the newest tasks with their steps, and the dead
letters. It is updated over Server-Sent Events, and a selected task's steps come from the
task's own event stream (see docs/gateway.md, "Dashboard")."""

from hivebus.gateway.dashboard.routes import routes

__all__ = ["routes"]
