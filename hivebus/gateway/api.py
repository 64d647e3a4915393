"""The task endpoints: submit, look at, cancel and signal a task."""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from hivebus.durable import control
from hivebus.errors import HivebusError
from hivebus.gateway.auth import allowed, require
from hivebus.gateway.body import json_body
from hivebus.gateway.errors import ApiError
from hivebus.gateway.events import TERMINAL
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import task_status
from hivebus.gateway.submit import SOURCE, encode_input, parse_request
from hivebus.gateway.targets import Target, resolve_fresh


async def create_task(request: Request) -> JSONResponse:
    """`POST /v1/tasks`: 202 once the task and its input are in Kafka; the run goes on."""
    gateway = _gateway(request)
    body = parse_request(await json_body(request, gateway.settings.max_body_bytes))
    if body.get("agent") is not None:
        require(request, body["agent"])  # before the directory says whether it exists
    target = await _target(gateway, body, request)
    require(request, target.agent)
    value = encode_input(body["input"], target)
    task = await gateway.submitter.submit(target, value, body.get("key"))
    status_url = str(request.url_for("task", task_id=task.task_id))
    answer = {
        "id": task.task_id,
        "state": "submitted",
        "agent": task.agent,
        "topic": task.topic,
        "type": task.type,
        "status_url": status_url,
        "events_url": str(request.url_for("task_events", task_id=task.task_id)),
    }
    return JSONResponse(answer, status_code=202, headers={"Location": status_url})


async def get_task(request: Request) -> JSONResponse:
    """`GET /v1/tasks/{id}`: the state, the steps so far, the result once done."""
    gateway = _gateway(request)
    task = await permitted_task(gateway, request)
    return JSONResponse(await task_status(gateway, task))


async def cancel_task(request: Request) -> JSONResponse:
    """`POST /v1/tasks/{id}/cancel`: asked of the run; it ends `canceled` at its next turn
    (at once when it sleeps or waits)."""
    gateway = _gateway(request)
    task = await permitted_task(gateway, request)
    await _unfinished(gateway, task.task_id)
    await _control(control.cancel(task.agent, task.task_id, source=SOURCE))
    return _accepted(request, task.task_id, {"cancel": "requested"})


async def signal_task(request: Request) -> JSONResponse:
    """`POST /v1/tasks/{id}/signals/{name}`: the body (JSON, or none) is the signal's payload,
    taken by the run's `ctx.wait_for(name)`, also if it comes before the run waits."""
    gateway = _gateway(request)
    task = await permitted_task(gateway, request)
    name = request.path_params["name"]
    payload = await json_body(request, gateway.settings.max_body_bytes, empty=None)
    await _unfinished(gateway, task.task_id)
    await _control(control.signal(task.agent, task.task_id, name, payload, source=SOURCE))
    return _accepted(request, task.task_id, {"signal": name})


async def permitted_task(gateway: Gateway, connection: HTTPConnection) -> TaskRecord:
    """The task of the path, or 404; 403 when the caller may not use the task's agent."""
    task = await gateway.task(connection.path_params["task_id"])
    require(connection, task.agent)
    return task


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


async def _target(gateway: Gateway, body: dict[str, Any], request: Request) -> Target:
    agent, topic, type_ = body.get("agent"), body.get("topic"), body.get("type")
    return await resolve_fresh(
        gateway.catalog, gateway.contracts, agent, topic, type_, lambda name: allowed(request, name)
    )


async def _unfinished(gateway: Gateway, task_id: str) -> None:
    """409 for a task that has ended: there is nothing left to tell its run."""
    status = await task_status(gateway, await gateway.task(task_id))
    if status["state"] in TERMINAL:
        raise ApiError(409, "task_ended", f"task {task_id!r} is {status['state']} already")


async def _control(request: Any) -> None:
    try:
        await request
    except HivebusError as error:
        message = f"the request did not reach the run: {error}"
        raise ApiError(503, "kafka_unavailable", message) from None


def _accepted(request: Request, task_id: str, what: dict[str, str]) -> JSONResponse:
    status_url = str(request.url_for("task", task_id=task_id))
    return JSONResponse({"id": task_id, **what, "status_url": status_url}, status_code=202)


def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway
