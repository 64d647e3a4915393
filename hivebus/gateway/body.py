"""Request bodies: JSON, and never more than the configured size, however it is sent.

`Content-Length` is checked before anything is read; a chunked body is counted as it comes
and refused as soon as it passes the limit, so an oversized upload is never held in memory.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from hivebus.gateway.errors import ApiError

DEFAULT_LIMIT = 1024 * 1024


async def json_body(request: Request, limit: int, *, empty: Any = ...) -> Any:
    """The body as JSON; `empty` (if given) is returned for an empty body."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    data = b"".join(chunks)
    if not data.strip() and empty is not ...:
        return empty
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError(400, "malformed_json", f"the body is not valid JSON: {error}") from None
    except RecursionError:  # `[[[[...` nested deeper than the parser goes
        raise ApiError(400, "malformed_json", "the body's JSON is nested too deeply") from None


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes")
