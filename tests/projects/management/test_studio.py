"""The README's promise: `manage.py studio` runs the whole studio in one
process on a fresh checkout, and Ctrl-C stops it cleanly. And the scale-out
path: a separate `manage.py db_worker` process does the work."""

import http.cookiejar
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

from projects.models import Version
from projects.services import versions

ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def embedded_env(var_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "GEMINI_API_KEY"}
    }
    env["STUDIO_VAR_DIR"] = str(var_dir)
    env["STUDIO_POLL_SECONDS"] = "0.5"
    env.pop("DJANGO_SETTINGS_MODULE", None)
    return env


class Browser:
    """Just enough of a browser: cookies and CSRF tokens."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> str:
        with self.opener.open(self.base + path, timeout=10) as response:
            return response.read().decode()

    def post(self, path: str, data: dict) -> tuple[str, str]:
        page = self.get(path if path.endswith("/signup/") else "/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base}
        )
        with self.opener.open(request, timeout=10) as response:
            return response.geturl(), response.read().decode()


def start_studio(var_dir: Path, port: int) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [sys.executable, "manage.py", "studio", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=embedded_env(var_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return process, process.stdout.readline()


def stop_studio(process: subprocess.Popen) -> str:
    process.send_signal(signal.SIGINT)
    output = process.communicate(timeout=60)[0]
    assert process.returncode == 0, output
    assert "Omni Studio stopped." in output
    return output


def generate_as_new_user(browser: Browser, *, title: str, **choices: str) -> str:
    """Sign up, create a project and generate on the local engine; the new
    version's path."""
    password = "a long passphrase 42"
    browser.post(
        "/accounts/signup/",
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": password,
            "password2": password,
        },
    )
    url, _ = browser.post("/projects/new/", {"title": title})
    project_path = urllib.parse.urlparse(url).path
    url, _ = browser.post(
        project_path + "generate/", {"mode": "text", "engine": "local", **choices}
    )
    return urllib.parse.urlparse(url).path


def test_studio_runs_a_generation_and_stops_cleanly_on_ctrl_c(tmp_path):
    port = free_port()
    process, banner = start_studio(tmp_path, port)
    try:
        assert f"http://127.0.0.1:{port}/" in banner
        browser = Browser(f"http://127.0.0.1:{port}")
        assert "Sign in" in browser.get("/accounts/login/")
        version_path = generate_as_new_user(
            browser,
            title="Smoke",
            prompt="A red kite",
            aspect_ratio="9:16",
            resolution="480p",
            duration_seconds="3",
        )
        deadline = time.monotonic() + 120
        while "Download MP4" not in (page := browser.get(version_path)):
            assert time.monotonic() < deadline, page[-2000:]
            assert 'data-status="failed"' not in page
            time.sleep(0.5)
        video = browser.opener.open(f"http://127.0.0.1:{port}{version_path}video.mp4", timeout=10)
        assert video.read(12)[4:8] == b"ftyp"
    finally:
        stop_studio(process)


def test_ctrl_c_mid_render_leaves_a_version_that_resumes_on_the_next_start(tmp_path):
    port = free_port()
    process, banner = start_studio(tmp_path, port)
    try:
        browser = Browser(f"http://127.0.0.1:{port}")
        version_path = generate_as_new_user(
            browser,
            title="Long render",
            prompt="A slow sunrise over hills",
            aspect_ratio="16:9",
            resolution="1080p",
            duration_seconds="10",
        )
        deadline = time.monotonic() + 60
        while not re.search(r'<progress max="100" value="([1-9]\d?)"', browser.get(version_path)):
            assert time.monotonic() < deadline, "the render never started"
            time.sleep(0.2)
    finally:
        stop_studio(process)

    with sqlite3.connect(tmp_path / "studio.sqlite3") as db:
        status, lease, video, progress = db.execute(
            "select status, lease_until, video, progress from projects_version"
        ).fetchone()
    assert status == "generating"
    assert lease is None, "the lease is handed back so the next start resumes at once"
    assert video == ""
    assert 0 < progress < 1

    process, banner = start_studio(tmp_path, port)
    try:
        assert "resuming 1 unfinished version" in banner
        deadline = time.monotonic() + 120
        while "Download MP4" not in browser.get(version_path):
            assert time.monotonic() < deadline
            time.sleep(0.5)
    finally:
        stop_studio(process)


@pytest.mark.django_db(transaction=True)
def test_a_separate_db_worker_process_does_the_work(project, member):
    version = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        kind=Version.Kind.TEXT_TO_VIDEO,
        prompt="A lighthouse at dusk",
        aspect_ratio="1:1",
        resolution="480p",
        duration_seconds=3,
        engine="local",
    )
    env = dict(os.environ)
    settings_dict = connection.settings_dict
    if connection.vendor == "postgresql":
        env["DATABASE_URL"] = (
            f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}/"
            f"{settings_dict['NAME']}"
        )
    else:
        env["DATABASE_URL"] = f"sqlite:///{settings_dict['NAME']}"
    env["MEDIA_ROOT"] = str(Version._meta.get_field("video").storage.location)
    result = subprocess.run(
        [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert (version.width, version.height) == (480, 480)
