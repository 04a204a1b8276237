"""End-to-end tests: a real `manage.py studio` process and a real Chromium.

One studio per test session, on a free port with a fresh STUDIO_VAR_DIR, on
its embedded default (SQLite, in-memory channel layer, local engine). The
tests talk to it only through the browser (and, to make someone a member of a
workspace, through `manage.py shell` against the same var dir): nothing here
uses pytest-django's test database.

Chromium is Debian's (`apt-get install chromium`), not Playwright's download;
set E2E_CHROMIUM to use another binary.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import WATCH_PANEL

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts" / "e2e"
CHROMIUM = os.environ.get("E2E_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, which floods a closed network.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The server's environment: whatever scales the studio out is removed so it
# runs on its embedded default with the offline local engine.
SCALE_OUT_VARIABLES = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PREFIX",
    "GEMINI_API_KEY",
    "MEDIA_ROOT",
    "SECRET_KEY",
    "STUDIO_DEFAULT_ENGINE",
)
BANNER = "Omni Studio is running at "
START_TIMEOUT = 90
STOP_TIMEOUT = 45

expect.set_options(timeout=10_000)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end test driving a real studio process in Chromium"
    )
    # Failure screenshots from pytest-playwright go beside ours, unless asked
    # otherwise on the command line.
    if getattr(config.option, "screenshot", None) == "off":
        config.option.screenshot = "only-on-failure"
    if getattr(config.option, "output", None) == "test-results":
        config.option.output = str(ARTIFACTS_DIR / "failures")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # Every test here drives the browser, marked or not, so `-m "not e2e"`
    # leaves them all out (this runs before the marks are selected on).
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    if getattr(config, "_e2e_artifacts", None):
        terminalreporter.write_sep("-", "e2e artifacts")
        terminalreporter.write_line(f"Screenshots and the studio's log: {ARTIFACTS_DIR}")


@pytest.fixture(autouse=True)
def _media_root():
    """Overrides tests/conftest.py's: the studio under test has its own var
    dir, and these tests need no Django settings in this process."""


@pytest.fixture(scope="session")
def artifacts_dir(pytestconfig: pytest.Config) -> Path:
    ARTIFACTS_DIR.mkdir(parents=True, exist_ok=True)
    for stale in ARTIFACTS_DIR.glob("*.png"):
        stale.unlink()
    pytestconfig._e2e_artifacts = True
    return ARTIFACTS_DIR


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Studio:
    """The running `manage.py studio` process."""

    url: str
    var_dir: Path
    env: dict[str, str]
    process: subprocess.Popen
    log_path: Path
    lines: list[str] = field(default_factory=list)

    def log_tail(self, count: int = 40) -> str:
        return "".join(self.lines[-count:])

    def manage(self, *args: str, timeout: float = 60) -> str:
        """Run another manage.py command against the same var dir."""
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"manage.py {args[0]} failed:\n{done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture(scope="session")
def studio(tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path):
    var_dir = tmp_path_factory.mktemp("studio-var")
    env = {k: v for k, v in os.environ.items() if k not in SCALE_OUT_VARIABLES}
    env.update(
        STUDIO_VAR_DIR=str(var_dir),
        STUDIO_POLL_SECONDS="0.5",
        # Heartbeats often, so a change made outside the server (by a
        # test through manage.py) reaches open pages within seconds.
        STUDIO_LIVE_HEARTBEAT_SECONDS="2",
        STUDIO_LIVE_SILENT_SECONDS="6",
        DJANGO_SETTINGS_MODULE="studio.settings",
        PYTHONUNBUFFERED="1",
    )
    port = _free_port()
    log_path = artifacts_dir / "studio.log"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "studio", f"127.0.0.1:{port}"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    lines: list[str] = []
    banner = threading.Event()

    def pump() -> None:
        # Keep reading so the pipe never fills; keep a copy for the report.
        with log_path.open("w") as log:
            for line in process.stdout:
                lines.append(line)
                log.write(line)
                log.flush()
                if line.startswith(BANNER):
                    banner.set()

    reader = threading.Thread(target=pump, name="studio-log", daemon=True)
    reader.start()
    deadline = time.monotonic() + START_TIMEOUT
    while not banner.wait(0.1):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            reader.join(5)
            pytest.fail(
                f"manage.py studio did not start (exit {process.poll()}):\n{''.join(lines)}"
            )
    server = Studio(
        url=f"http://127.0.0.1:{port}",
        var_dir=var_dir,
        env=env,
        process=process,
        log_path=log_path,
        lines=lines,
    )
    yield server

    process.send_signal(signal.SIGINT)
    try:
        code = process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        pytest.fail(f"manage.py studio did not stop on SIGINT:\n{server.log_tail()}")
    reader.join(5)
    assert code == 0, f"manage.py studio exited {code}:\n{server.log_tail()}"
    assert "Omni Studio stopped." in "".join(lines), server.log_tail()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(studio: Studio) -> str:
    """pytest-playwright gives every context this base URL."""
    return studio.url


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


@pytest.fixture
def new_context(new_context):
    """pytest-playwright's contexts (the `context` and `page` fixtures use
    this too), each page watching its version panel: see helpers.WATCH_PANEL."""

    def make(**kwargs):
        context = new_context(**kwargs)
        context.add_init_script(script=WATCH_PANEL)
        return context

    return make


@pytest.fixture
def screenshot(artifacts_dir: Path, request: pytest.FixtureRequest):
    """Save a full-page screenshot of a scenario's state into the artifacts."""
    callspec = getattr(request.node, "callspec", None)
    params = [
        str(v) for k, v in (callspec.params if callspec else {}).items() if k != "browser_name"
    ]
    default = "-".join([request.node.originalname, *params])

    def take(page, name: str | None = None) -> Path:
        path = artifacts_dir / f"{name or default}.png"
        page.screenshot(path=path, full_page=True)
        return path

    return take
