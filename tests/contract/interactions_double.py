"""A local HTTP double of the Gemini Interactions and Files APIs.

The real google-genai SDK talks to it over HTTP, so the contract tests see the
exact requests the SDK sends and the SDK parses exactly what the double answers.
The wire format below was read from, and checked against, google-genai 3.4.0
(``google/genai/_gaos/interactions.py``, ``_gaos/types/interactions/``,
``_gaos/google_genai.py``, ``files.py``, ``_api_client.py``):

- Every API call carries the key in the ``x-goog-api-key`` header. The API
  version is the first path segment (``v1`` by default in 3.4.0; the double
  accepts any).
- ``POST /{v}/interactions``: JSON body with snake_case keys (``model``,
  ``input``, ``background``, ``store``, ``response_format``,
  ``generation_config``, ``previous_interaction_id``). A content-block list
  given as ``input`` arrives as ``[{"type": "user_input", "content": [...]}]``.
  Answer: an Interaction (``id``, ``status``, ``model``, ``steps``, ``usage``,
  ``errors``).
- ``GET /{v}/interactions/{id}?stream=false`` and
  ``POST /{v}/interactions/{id}/cancel``: answer an Interaction.
- Statuses: queued, in_progress, requires_continuation, completed, failed,
  cancelled, incomplete, budget_exceeded, requires_action.
- Output lives in ``steps``: ``{"type": "model_output", "content": [{"type":
  "video", "uri" | "data", "mime_type"}]}`` (the SDK derives
  ``output_video`` from it). Failures: ``errors: [{"code", "message"}]`` and
  ``steps[].error`` (a google.rpc.Status).
- Error responses: ``{"error": {"code": "<string code>", "message": ...}}``
  with the HTTP status; ``Retry-After`` on 429.
- Files API: ``POST /upload/{v}/files`` with ``X-Goog-Upload-Protocol:
  resumable``, ``X-Goog-Upload-Command: start`` and body ``{"file":
  {"mime_type", "size_bytes", ...}}``; the answer's ``x-goog-upload-url``
  header names where the bytes go (``X-Goog-Upload-Command: upload,
  finalize``; answer ``x-goog-upload-status: final`` and ``{"file": File}``).
  ``GET /{v}/files/{id}`` returns the File (camelCase: ``mimeType``,
  ``expirationTime``, ``state`` PROCESSING | ACTIVE | FAILED).
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SDK_VERSION_CHECKED = "3.4.0"
API_KEY = "test-key"
MODEL = "gemini-omni-1.2-flash"


@dataclass
class Reply:
    """A scripted answer."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # wall clock, as the database's

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def api_error(status: int, code: str, message: str, **headers: str) -> Reply:
    """An error response as the Interactions API sends it."""
    return Reply(status=status, json={"error": {"code": code, "message": message}}, headers=headers)


def interaction(
    interaction_id: str,
    status: str,
    *,
    video_uri: str = "",
    video_data: bytes | None = None,
    errors: list[dict] | None = None,
    step_error: dict | None = None,
    text: str = "",
    usage: dict | None = None,
    model: str = MODEL,
) -> dict:
    """An Interaction resource as JSON."""
    body: dict[str, Any] = {
        "id": interaction_id,
        "status": status,
        "model": model,
        "created": "2026-05-20T10:00:00Z",
        "updated": "2026-05-20T10:00:05Z",
    }
    content: list[dict] = []
    if text:
        content.append({"type": "text", "text": text})
    if video_uri:
        content.append({"type": "video", "uri": video_uri, "mime_type": "video/mp4"})
    if video_data is not None:
        content.append(
            {
                "type": "video",
                "data": base64.b64encode(video_data).decode("ascii"),
                "mime_type": "video/mp4",
            }
        )
    if content or step_error:
        step: dict[str, Any] = {"type": "model_output", "content": content}
        if step_error:
            step["error"] = step_error
        body["steps"] = [step]
    if errors:
        body["errors"] = errors
    if usage:
        body["usage"] = usage
    return body


_VERSION = r"/(?P<version>v1[a-z0-9]*)"
_ROUTES = [
    ("POST", re.compile(rf"^{_VERSION}/interactions$"), "create"),
    ("GET", re.compile(rf"^{_VERSION}/interactions/(?P<id>[^/]+)$"), "get"),
    ("POST", re.compile(rf"^{_VERSION}/interactions/(?P<id>[^/]+)/cancel$"), "cancel"),
    ("POST", re.compile(rf"^/upload{_VERSION}/files$"), "upload_start"),
    ("POST", re.compile(r"^/upload-session/(?P<id>[^/]+)$"), "upload_bytes"),
    ("GET", re.compile(rf"^{_VERSION}/files/(?P<id>[^/:]+)$"), "get_file"),
]


MODEL_OUTPUT = "/media/model-output.mp4"


def path_is_output(record: Recorded) -> bool:
    return record.path == MODEL_OUTPUT


@dataclass
class _Model:
    latency: float
    create_delay: float
    download_delay: float
    poll_delay: float
    busy_polls: bool
    started: dict[str, float] = field(default_factory=dict)
    busy: dict[str, deque[Reply]] = field(default_factory=dict)


class GeminiDouble:
    """A threaded HTTP server scripted per test."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._overrides: list[tuple[str, re.Pattern[str], Reply]] = []
        self._create_replies: deque[Reply] = deque()
        self._scripts: dict[str, deque[Reply]] = {}
        self._files: dict[str, dict[str, Any]] = {}
        self._file_states: dict[str, deque[dict]] = {}
        self.next_file_states: list[str] = ["ACTIVE"]
        self.file_failure_message = "The video could not be decoded."
        self._blobs: dict[str, tuple[bytes, str, bool]] = {}
        self._counter = 0
        self._model: _Model | None = None
        double = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                double._handle(self)

            def do_POST(self) -> None:
                double._handle(self)

            def do_DELETE(self) -> None:
                double._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- lifecycle --------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> GeminiDouble:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- scripting --------------------------------------------------------------

    def reply_once(self, method: str, path_pattern: str, reply: Reply, times: int = 1) -> None:
        """The next ``times`` requests matching method and path get reply."""
        with self._lock:
            for _ in range(times):
                self._overrides.append((method, re.compile(path_pattern), reply))

    def on_create(self, *replies: Reply | dict) -> None:
        """Answers for the next creates (an Interaction dict means 200)."""
        with self._lock:
            for reply in replies:
                self._create_replies.append(
                    reply if isinstance(reply, Reply) else Reply(json=reply)
                )

    def script(self, interaction_id: str, *replies: Reply | dict) -> None:
        """Answers for successive GETs of an interaction; the last one repeats."""
        with self._lock:
            self._scripts[interaction_id] = deque(
                r if isinstance(r, Reply) else Reply(json=r) for r in replies
            )

    def serve_blob(
        self, path: str, data: bytes, content_type: str = "video/mp4", public: bool = False
    ) -> str:
        """Serve bytes at path (with the API key unless public); return its url."""
        with self._lock:
            self._blobs[path] = (data, content_type, public)
        return self.url + path

    def run_model(
        self,
        video: bytes,
        *,
        latency: float,
        create_delay: float = 0.0,
        download_delay: float = 0.0,
        poll_delay: float = 0.0,
        busy_polls: bool = False,
    ) -> None:
        """Act as the model for every create not scripted: the interaction
        completes ``latency`` s after its create, with ``video``. The create's
        answer, each poll's and the video's download take the given delays; with
        ``busy_polls`` each interaction's first two polls are answered 429
        (Retry-After 2 s) and 503."""
        with self._lock:
            self._model = _Model(
                latency=latency,
                create_delay=create_delay,
                download_delay=download_delay,
                poll_delay=poll_delay,
                busy_polls=busy_polls,
            )
            self._blobs[MODEL_OUTPUT] = (video, "video/mp4", False)

    def add_generated_file(self, file_id: str, data: bytes, version: str = "v1") -> str:
        """A model-made file in the Files API; return its resource uri."""
        with self._lock:
            self._files[file_id] = {
                "name": f"files/{file_id}",
                "mimeType": "video/mp4",
                "uri": f"{self.url}/{version}/files/{file_id}",
                "source": "GENERATED",
            }
            self._file_states[file_id] = deque([self._file_json(file_id, "ACTIVE")])
            self._blobs[f"/{version}/files/{file_id}:download"] = (data, "video/mp4", False)
        return self._files[file_id]["uri"]

    # -- inspection -------------------------------------------------------------

    def matching(self, method: str, pattern: str) -> list[Recorded]:
        regex = re.compile(pattern)
        with self._lock:
            return [r for r in self.requests if r.method == method and regex.search(r.path)]

    @property
    def creates(self) -> list[Recorded]:
        return self.matching("POST", r"^/v1[a-z0-9]*/interactions$")

    def gets(self, interaction_id: str = "") -> list[Recorded]:
        return self.matching("GET", rf"^/v1[a-z0-9]*/interactions/{re.escape(interaction_id)}")

    @property
    def cancels(self) -> list[Recorded]:
        return self.matching("POST", r"/interactions/[^/]+/cancel$")

    @property
    def upload_starts(self) -> list[Recorded]:
        return self.matching("POST", r"^/upload/v1[a-z0-9]*/files$")

    @property
    def uploaded_bytes(self) -> list[bytes]:
        return [r.body for r in self.matching("POST", r"^/upload-session/")]

    @property
    def file_gets(self) -> list[Recorded]:
        return self.matching("GET", r"^/v1[a-z0-9]*/files/")

    # -- serving ----------------------------------------------------------------

    def _next_id(self, prefix: str) -> str:
        self._counter += 1
        return f"{prefix}-{self._counter}"

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        record = Recorded(
            method=handler.command,
            path=parts.path,
            query=parse_qs(parts.query),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
        )
        with self._lock:
            self.requests.append(record)
            reply = self._route(record)
        self._send(handler, reply)

    def _route(self, record: Recorded) -> Reply:
        for index, (method, pattern, reply) in enumerate(self._overrides):
            if method == record.method and pattern.search(record.path):
                del self._overrides[index]
                return reply
        if record.method == "GET" and record.path in self._blobs:
            data, content_type, public = self._blobs[record.path]
            if not public and record.headers.get("x-goog-api-key") != API_KEY:
                return api_error(403, "permission_denied", "The API key is missing.")
            delay = self._model.download_delay if self._model and path_is_output(record) else 0
            return Reply(body=data, content_type=content_type, delay=delay)
        for method, pattern, name in _ROUTES:
            match = pattern.match(record.path)
            if method == record.method and match:
                if name != "upload_bytes" and record.headers.get("x-goog-api-key") != API_KEY:
                    return api_error(401, "authentication", "API key not valid.")
                return getattr(self, f"_{name}")(record, **match.groupdict())
        return api_error(404, "not_found", f"No route for {record.method} {record.path}.")

    def _create(self, record: Recorded, version: str) -> Reply:
        if self._create_replies:
            return self._create_replies.popleft()
        model = self._model
        if model is not None:
            interaction_id = self._next_id("int")
            model.started[interaction_id] = time.monotonic() + model.create_delay
            if model.busy_polls:
                model.busy[interaction_id] = deque(
                    [
                        api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "2"}),
                        api_error(503, "service_unavailable", "Busy."),
                    ]
                )
            return Reply(json=interaction(interaction_id, "queued"), delay=model.create_delay)
        return Reply(json=interaction(self._next_id("int"), "in_progress"))

    def _get(self, record: Recorded, version: str, id: str) -> Reply:
        script = self._scripts.get(id)
        if script:
            return script.popleft() if len(script) > 1 else script[0]
        model = self._model
        if model is not None and id in model.started:
            busy = model.busy.get(id)
            if busy:
                return busy.popleft()
            if time.monotonic() - model.started[id] >= model.latency:
                return Reply(
                    json=interaction(id, "completed", video_uri=self.url + MODEL_OUTPUT),
                    delay=model.poll_delay,
                )
            return Reply(json=interaction(id, "in_progress"), delay=model.poll_delay)
        return Reply(json=interaction(id, "in_progress"))

    def _cancel(self, record: Recorded, version: str, id: str) -> Reply:
        return Reply(json=interaction(id, "cancelled"))

    def _upload_start(self, record: Recorded, version: str) -> Reply:
        file_id = self._next_id("file")
        meta = (record.json or {}).get("file", {})
        now = datetime.now(UTC)
        self._files[file_id] = {
            "name": f"files/{file_id}",
            "mimeType": meta.get("mime_type") or meta.get("mimeType"),
            "sizeBytes": str(meta.get("size_bytes") or meta.get("sizeBytes") or 0),
            "createTime": now.isoformat().replace("+00:00", "Z"),
            "expirationTime": (now + timedelta(hours=48)).isoformat().replace("+00:00", "Z"),
            "uri": f"{self.url}/{version}/files/{file_id}",
            "source": "UPLOADED",
        }
        if meta.get("display_name") or meta.get("displayName"):
            self._files[file_id]["displayName"] = meta.get("display_name") or meta["displayName"]
        self._file_states[file_id] = deque(
            self._file_json(file_id, s) for s in self.next_file_states
        )
        return Reply(json={}, headers={"x-goog-upload-url": f"{self.url}/upload-session/{file_id}"})

    def _upload_bytes(self, record: Recorded, id: str) -> Reply:
        states = self._file_states[id]
        first = states.popleft() if len(states) > 1 else states[0]
        # The SDK re-sends a chunk (sleeping for real) when this header is absent.
        return Reply(json={"file": first}, headers={"x-goog-upload-status": "final"})

    def _get_file(self, record: Recorded, version: str, id: str) -> Reply:
        states = self._file_states.get(id)
        if states is None:
            return api_error(404, "not_found", f"File files/{id} not found or expired.")
        return Reply(json=states.popleft() if len(states) > 1 else states[0])

    def _file_json(self, file_id: str, state: str) -> dict:
        body = {**self._files[file_id], "state": state}
        if state == "FAILED":
            body["error"] = {"code": 3, "message": self.file_failure_message}
        return body

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is not None:
            payload = reply.body
        else:
            payload = json.dumps(reply.json if reply.json is not None else {}).encode()
        try:
            handler.send_response(reply.status)
            handler.send_header("content-type", reply.content_type)
            handler.send_header("content-length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # The client gave up (a timeout test).
