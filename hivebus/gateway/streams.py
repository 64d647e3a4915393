"""A task's events, live: Server-Sent Events, and the same over a WebSocket.

Each event's id comes from the run's journal (events.py), so a client that reconnects with
`Last-Event-ID` (or `?last_event_id=`, for clients that cannot set headers) is sent exactly
the events after it, by this replica or any other. A comment goes out every
`keepalive_s` so proxies keep a quiet stream open; the stream ends after the terminal event.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.requests import HTTPConnection, Request
from starlette.websockets import WebSocket, WebSocketDisconnect

from hivebus.gateway.auth import require
from hivebus.gateway.errors import ApiError
from hivebus.gateway.events import EventId
from hivebus.gateway.records import TaskRecord
from hivebus.gateway.service import Gateway
from hivebus.gateway.status import task_events

log = logging.getLogger("hivebus.gateway.streams")
NOT_FOUND_CLOSE, BAD_REQUEST_CLOSE, FAILED_CLOSE = 4404, 4400, 1011
CLOSE_CODES = {404: NOT_FOUND_CLOSE, 403: 4403, 401: 4401}  # 4000 + the HTTP status


async def sse_events(request: Request) -> EventSourceResponse:
    """`GET /v1/tasks/{id}/events`."""
    gateway: Gateway = request.app.state.gateway
    task = await gateway.task(request.path_params["task_id"])
    require(request, task.agent)
    after = last_event_id(request)
    return EventSourceResponse(
        _sse(gateway, task, after),
        ping=gateway.settings.keepalive_s,
        headers={"Cache-Control": "no-cache"},
    )


async def ws_events(websocket: WebSocket) -> None:
    """`/v1/tasks/{id}/ws`: one JSON message per event, then a normal close."""
    gateway: Gateway = websocket.app.state.gateway
    await websocket.accept()
    try:
        task = await gateway.task(websocket.path_params["task_id"])
        require(websocket, task.agent)
        after = last_event_id(websocket)
    except ApiError as error:
        await websocket.send_json({"error": {"code": error.code, "message": error.message}})
        await websocket.close(CLOSE_CODES.get(error.status, BAD_REQUEST_CLOSE))
        return
    pump = asyncio.create_task(_send_events(websocket, gateway, task, after))
    gone = asyncio.create_task(_closed_by_client(websocket))
    done, pending = await asyncio.wait({pump, gone}, return_when=asyncio.FIRST_COMPLETED)
    for waiting in pending:
        waiting.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if pump in done:
        failed = pump.exception() is not None
        if failed:
            log.error("the event stream of task %s failed", task.task_id, exc_info=pump.exception())
        await websocket.close(FAILED_CLOSE if failed else 1000)


def last_event_id(connection: HTTPConnection) -> EventId | None:
    """Where the client was: the `Last-Event-ID` header, or the `last_event_id` query."""
    text = connection.headers.get("last-event-id") or connection.query_params.get("last_event_id")
    if not text:
        return None
    try:
        return EventId.parse(text)
    except ValueError as error:
        raise ApiError(400, "invalid_last_event_id", str(error)) from None


async def _sse(
    gateway: Gateway, task: TaskRecord, after: EventId | None
) -> AsyncIterator[ServerSentEvent]:
    try:
        async for event in task_events(gateway, task, after):
            data = json.dumps(event.payload(task.task_id))
            yield ServerSentEvent(data=data, event=event.kind, id=str(event.id))
    except Exception:  # the response has started: say so in the stream, and end it
        log.exception("the event stream of task %s failed", task.task_id)
        error = {"code": "stream_failed", "message": "the stream failed; reconnect to go on"}
        yield ServerSentEvent(data=json.dumps({"error": error}), event="error")


async def _send_events(
    websocket: WebSocket, gateway: Gateway, task: TaskRecord, after: EventId | None
) -> None:
    async for event in task_events(gateway, task, after):
        await websocket.send_json(event.payload(task.task_id))


async def _closed_by_client(websocket: WebSocket) -> None:
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass  # clients have nothing to say on this socket
    except WebSocketDisconnect:
        pass
