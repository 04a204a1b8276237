"""Real studio processes for tests: ``manage.py`` commands run and spawned
with the venv's Python (so a SIGKILL reaches the process itself), and
waiting for what they do."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
PYTHON = Path(sys.executable)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(env: dict, *args: str) -> str:
    done = subprocess.run(
        [str(PYTHON), "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def spawn(env: dict, *args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(PYTHON), "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition, *, timeout: float, message: str, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        assert time.monotonic() < deadline, message
        time.sleep(every)


POSTGRES = "postgres://postgres@127.0.0.1:5432"

# Python for `manage.py shell -c`: a 3 s 720p clip rendered by the local
# engine, its path in ``target`` (and printed, when run alone).
LOCAL_CLIP = """
import json, tempfile
from pathlib import Path
from studio.engines.base import GenerationRequest, Task
from studio.engines.local.engine import LocalEngine
engine = LocalEngine()
request = GenerationRequest(task=Task.TEXT_TO_VIDEO, prompt="A harbour at dawn",
                            aspect_ratio="16:9", resolution="720p", duration_seconds=3)
result = engine.poll(engine.submit(request).interaction_id, request, progress=lambda f: None)
target = Path(tempfile.mkdtemp()) / "clip.mp4"
engine.fetch_output(result.output, target)
"""


@contextmanager
def scratch_database(prefix: str) -> Iterator[str]:
    """A PostgreSQL database of its own, dropped afterwards; yields its URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{POSTGRES}/{name}"
    finally:
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stop_all(processes: Iterable[subprocess.Popen], *, sig: int = signal.SIGTERM) -> None:
    """Ask every process still running to stop, then kill what has not within 20 s."""
    processes = list(processes)
    for process in processes:
        if process.poll() is None:
            process.send_signal(sig)
    for process in processes:
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
