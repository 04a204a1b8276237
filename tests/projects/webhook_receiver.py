"""A real webhook receiver on loopback: an http.server in a thread that
records what arrives and answers as the test scripts it."""

from __future__ import annotations

import hashlib
import hmac
import json
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b"ok"
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: str

    @property
    def envelope(self) -> dict:
        return json.loads(self.body)

    def signed_with(self, secret: str) -> bool:
        """Whether Studio-Signature is the HMAC of "<t>.<body>" under secret."""
        parts = dict(part.split("=", 1) for part in self.headers["Studio-Signature"].split(","))
        expected = hmac.new(
            secret.encode(), f"{parts['t']}.{self.body}".encode(), hashlib.sha256
        ).hexdigest()
        return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    """Plain http, or https with the ``tls`` context (then ``server_names``
    holds the names clients asked for in SNI)."""

    def __init__(self, tls: ssl.SSLContext | None = None):
        self.received: list[Received] = []
        self.server_names: list[str | None] = []
        self.replies: list[Reply] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length).decode()
                with receiver._lock:
                    receiver.received.append(Received(self.path, dict(self.headers), body))
                    reply = receiver.replies.pop(0) if receiver.replies else Reply()
                time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    self.wfile.write(reply.body)
                except OSError:
                    pass  # the studio stopped waiting (a timeout)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.scheme = "http"
        if tls is not None:
            tls.sni_callback = lambda connection, name, context: self.server_names.append(name)
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            self.scheme = "https"
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str = "/hooks", host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"

    def answer(self, *replies: Reply) -> None:
        with self._lock:
            self.replies.extend(replies)

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks_allowed(settings):
    """Webhooks may go to this machine over plain http, as tests need;
    retries wait 30 s, 60 s, ... (tests move the queue's clock on)."""
    settings.STUDIO_WEBHOOKS_ALLOW_HTTP = True
    settings.STUDIO_WEBHOOKS_ALLOW_PRIVATE = True
    settings.STUDIO_WEBHOOKS_TIMEOUT_SECONDS = 0.5
    settings.STUDIO_WEBHOOKS_RETRY_BASE_SECONDS = 30
    settings.STUDIO_WEBHOOKS_MAX_ATTEMPTS = 5
    settings.STUDIO_WEBHOOKS_DISABLE_AFTER_FAILURES = 10
    return settings


@pytest.fixture
def receiver(hooks_allowed):
    server = Receiver().start()
    yield server
    server.stop()
