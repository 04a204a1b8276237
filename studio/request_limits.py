"""Request bodies bounded before they are read.

Django's ASGI handler spools a whole body to a temporary file before any
view runs, so a limit has to sit in front of it: a body that declares more
than its route allows is answered 413 without reading a byte of it, and one
that streams past the limit (no Content-Length) is cut off there. Routes
that take files get the upload limit, signed-in requests the ordinary one,
and requests with neither a session nor a token the small anonymous one.
"""

from __future__ import annotations

import json
import re

from django.conf import settings

_UPLOAD_ROUTES = re.compile(r"^/(?:projects/\d+/(?:upload|generate)/|api/v1/projects/\d+/assets)$")


class BodyTooLarge(Exception):
    pass


def body_limit(scope: dict) -> int:
    """The most bytes this request's body may have."""
    headers = dict(scope.get("headers") or [])
    cookies = headers.get(b"cookie", b"").decode("latin-1")
    signed_in = f"{settings.SESSION_COOKIE_NAME}=" in cookies or b"authorization" in headers
    if not signed_in:
        return settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES
    if _UPLOAD_ROUTES.match(scope.get("path", "")):
        return settings.STUDIO_MAX_UPLOAD_REQUEST_BYTES
    return settings.STUDIO_MAX_REQUEST_BYTES


def _in_words(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.0f} MB"
    return f"{max(1, size // 1024)} KB"


class RequestBodyLimit:
    """ASGI middleware for HTTP: 413 for a body over its route's limit."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = body_limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await _refuse(scope, send, limit, size=int(declared))
        received = 0
        started = False

        async def bounded_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, bounded_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _refuse(scope, send, limit, size=None)


async def _refuse(scope: dict, send, limit: int, *, size: int | None) -> None:
    told = f"The request is {_in_words(size)}; " if size else "The request is too large; "
    message = f"{told}the limit here is {_in_words(limit)}."
    if scope.get("path", "").startswith("/api/"):
        error = {"code": "too_large", "message": message, "field": None}
        body = json.dumps({"error": error}).encode()
        content_type = b"application/json"
    else:
        body = message.encode()
        content_type = b"text/plain; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
