"""Every error the gateway answers: JSON `{"error": {"code", "message"}}`, never a traceback.

Handlers raise `ApiError`; anything else is logged here with its traceback and answered 500
with a message that sends the reader to the gateway's log, and a request id that finds the
traceback there.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger("hivebus.gateway")

_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}


class ApiError(Exception):
    """An answer other than success: HTTP `status`, a stable `code`, a sentence for people."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def error_response(status: int, code: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


async def api_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, ApiError)
    return error_response(error.status, error.code, error.message, **error.extra)


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, f"http_{error.status_code}")
    return error_response(error.status_code, code, str(error.detail), path=request.url.path)


async def unexpected(request: Request, error: Exception) -> Response:
    request_id = uuid.uuid4().hex
    log.error(
        "request %s: %s %s failed", request_id, request.method, request.url.path, exc_info=error
    )
    message = f"the gateway failed to answer; its log says why (request id {request_id})"
    answer = error_response(500, "internal", message, request_id=request_id)
    answer.headers["X-Request-ID"] = request_id
    return answer


HANDLERS = {ApiError: api_error, HTTPException: http_error, Exception: unexpected}
