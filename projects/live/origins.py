"""Websockets are accepted only from the studio's own pages: the Origin must
match the request's scheme, host and port (or be a trusted origin), as
Django's CSRF check demands of forms."""

from __future__ import annotations

from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import validate_host


class SameOriginValidator:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket" and not self.allowed(scope):
            denier = WebsocketDenier()
            return await denier(scope, receive, send)
        return await self.application(scope, receive, send)

    @staticmethod
    def allowed(scope) -> bool:
        headers = dict(scope.get("headers", []))
        origin = headers.get(b"origin", b"").decode("latin-1").strip().lower()
        host = headers.get(b"host", b"").decode("latin-1").strip().lower()
        if not origin or not host:
            return False
        hostname = urlsplit(f"//{host}").hostname or ""
        if not validate_host(hostname, settings.ALLOWED_HOSTS):
            return False
        scheme = "https" if scope.get("scheme") in {"wss", "https"} else "http"
        if origin == f"{scheme}://{host}" or _with_default_port(origin) == _with_default_port(
            f"{scheme}://{host}"
        ):
            return True
        trusted = {_with_default_port(o.lower()) for o in settings.CSRF_TRUSTED_ORIGINS}
        return _with_default_port(origin) in trusted


def _with_default_port(origin: str) -> str:
    """https://a.example and https://a.example:443 are the same origin."""
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        return origin
    port = port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{parts.hostname}:{port}"
