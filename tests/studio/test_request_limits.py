"""Request bodies bounded before they are read: a real `manage.py studio`
answers 413 to a 300 MB upload and to a 300 MB anonymous post as soon as
their headers arrive (nothing is spooled to disk), and a body streamed with
no length is cut off at the limit."""

import asyncio
import socket
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from studio.request_limits import RequestBodyLimit, body_limit
from tests.projects.management.test_studio import free_port, start_studio, stop_studio

MB = 1024 * 1024


def spooled_bytes() -> int:
    """What Django's body spooling has written to the temporary folder."""
    folder = Path(tempfile.gettempdir())
    total = 0
    for path in folder.iterdir():
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            continue
    return total


def post_headers(port: int, path: str, size: int, *, cookie: str = "") -> str:
    """Send a POST's headers declaring ``size`` bytes and no body; the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        lines = [
            f"POST {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Content-Type: multipart/form-data; boundary=x",
            f"Content-Length: {size}",
        ]
        if cookie:
            lines.append(f"Cookie: {cookie}")
        conn.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        conn.sendall(b"--x\r\n" + b"\x00" * 65536)  # the start of the body, then no more
        answer = b""
        while b"\r\n\r\n" not in answer or len(answer) < 200:
            chunk = conn.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer.decode("latin-1")


def test_a_300_mb_body_is_refused_before_it_is_read(tmp_path):
    port = free_port()
    process, _ = start_studio(tmp_path / "var", port)
    try:
        before = spooled_bytes()
        signed_in = post_headers(port, "/projects/1/upload/", 300 * MB, cookie="sessionid=abc")
        anonymous = post_headers(port, "/accounts/login/", 300 * MB)
        api = post_headers(port, "/api/v1/projects/1/assets", 300 * MB, cookie="sessionid=abc")
        time.sleep(0.5)
        grown = spooled_bytes() - before
    finally:
        stop_studio(process)
    assert signed_in.startswith("HTTP/1.1 413"), signed_in[:200]
    assert "The request is 300 MB; the limit here is 208 MB." in signed_in
    assert anonymous.startswith("HTTP/1.1 413")
    assert "the limit here is 64 KB." in anonymous
    assert api.startswith("HTTP/1.1 413") and '"code": "too_large"' in api
    assert grown < MB


def scope(path: str, *, headers: list[tuple[bytes, bytes]]) -> dict:
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


def test_a_body_streamed_without_a_length_is_cut_off_at_the_limit(settings):
    settings.STUDIO_MAX_REQUEST_BYTES = MB
    reached_the_view = []

    async def app(scope, receive, send):
        while (await receive()).get("more_body"):
            pass
        reached_the_view.append(True)

    sent_chunks = 0

    async def receive():
        nonlocal sent_chunks
        sent_chunks += 1
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    answers = []

    async def send(message):
        answers.append(message)

    signed_in = [(b"cookie", b"sessionid=abc")]
    # On a loop of its own, in a thread of its own: the browser tests leave
    # Playwright's loop running in this one.
    middleware = RequestBodyLimit(app)(
        scope("/projects/1/rename/", headers=signed_in), receive, send
    )
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, middleware).result()
    assert reached_the_view == []
    assert answers[0]["status"] == 413
    assert b"the limit here is 1 MB." in answers[1]["body"]
    assert sent_chunks == MB // 65536 + 1  # read up to the limit, not past it


def test_limits_follow_the_route_and_the_caller(settings):
    cookie = [(b"cookie", b"csrftoken=x; sessionid=abc")]
    token = [(b"authorization", b"Bearer t")]
    assert body_limit(scope("/projects/3/upload/", headers=cookie)) == (
        settings.STUDIO_MAX_UPLOAD_REQUEST_BYTES
    )
    assert body_limit(scope("/api/v1/projects/3/assets", headers=token)) == (
        settings.STUDIO_MAX_UPLOAD_REQUEST_BYTES
    )
    assert body_limit(scope("/projects/3/rename/", headers=cookie)) == (
        settings.STUDIO_MAX_REQUEST_BYTES
    )
    assert body_limit(scope("/projects/3/upload/", headers=[(b"cookie", b"csrftoken=x")])) == (
        settings.STUDIO_MAX_ANONYMOUS_REQUEST_BYTES
    )
