"""Live progress to many watchers of one project: a real `manage.py studio`,
N authenticated websocket clients (and SSE streams) on one project, a
generation, and what each client saw. A benchmark, not a test.

    uv run python bench/live_fanout.py                 # embedded default
    uv run python bench/live_fanout.py --redis         # with REDIS_URL
    BENCH_WATCHERS=100,300 uv run python bench/live_fanout.py

For each N: the time to connect all N, the server's memory per socket, how
long presence takes to list everyone, and for a generation (queued →
submitting → generating → saving → ready): how many of its states each
socket saw, and the delay from the server's send to each receipt (p50, p95,
max). Then the same for BENCH_STREAMS (200) API event streams.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
WATCHERS = tuple(int(n) for n in os.environ.get("BENCH_WATCHERS", "100,300,1000").split(","))
STREAMS = int(os.environ.get("BENCH_STREAMS", "200"))
STATES = ("queued", "submitting", "generating", "saving", "ready")
BADGE = re.compile(r'id="badge-(\d+)" class="badge status-\w+" data-status="(\w+)"')
SENT = re.compile(r'id="live-seq"[^>]*data-sent="(\d+)"')

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from projects.models import Membership, Project, Workspace
from projects.services.tokens import api_token_create

User = get_user_model()
owner = User.objects.create_user("bench-owner", password="a long passphrase 42")
workspace = Workspace.objects.create(name="bench")
Membership.objects.create(user=owner, workspace=workspace, role="owner")
project = Project.objects.create(workspace=workspace, title="Fan-out", default_engine="local")
watchers = [User(username=f"watcher-{{n:04d}}", password="!") for n in range({count})]
User.objects.bulk_create(watchers)
watchers = list(User.objects.filter(username__startswith="watcher-").order_by("username"))
Membership.objects.bulk_create(
    Membership(user=user, workspace=workspace, role="viewer") for user in watchers
)
sessions = []
for user in watchers:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    sessions.append(store.session_key)
_, token = api_token_create(user=owner, name="bench")
print(json.dumps({{"project": project.pk, "sessions": sessions, "token": token}}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Studio:
    process: subprocess.Popen
    url: str
    env: dict

    def rss_kb(self) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(r"VmRSS:\s+(\d+)", status)[1])

    def stop(self) -> None:
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start_studio(redis: bool) -> Studio:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update(STUDIO_VAR_DIR=tempfile.mkdtemp(prefix="studio-fanout-"), PYTHONUNBUFFERED="1")
    if redis:
        env.update(REDIS_URL="redis://127.0.0.1:6379/5", REDIS_PREFIX=f"fanout-{os.getpid()}")
    port = free_port()
    process = subprocess.Popen(
        [str(PYTHON), "manage.py", "studio", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    for line in process.stdout:
        if line.startswith("Omni Studio is running at"):
            break
    else:
        raise SystemExit("The studio did not start.")
    # Keep its output flowing, so it never blocks on a full pipe (into
    # BENCH_SERVER_LOG, when set, to read what the server said).
    log_path = os.environ.get("BENCH_SERVER_LOG")

    def drain() -> None:
        with open(log_path or os.devnull, "a") as log:
            for line in process.stdout:
                log.write(line)

    asyncio.get_event_loop().run_in_executor(None, drain)
    return Studio(process=process, url=f"127.0.0.1:{port}", env=env)


def setup(studio: Studio, count: int) -> dict:
    done = subprocess.run(
        [str(PYTHON), "manage.py", "shell", "-c", SETUP.format(count=count)],
        cwd=ROOT,
        env=studio.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Watcher:
    session: str
    # Each version's states as this socket saw them, with each's delay.
    seen: dict[int, list[str]] = field(default_factory=dict)
    delays: dict[int, list[float]] = field(default_factory=dict)
    presence: str = ""
    presence_at: float = 0.0


async def watch(studio: Studio, project: int, watcher: Watcher, ready: asyncio.Event):
    async with connect(
        f"ws://{studio.url}/ws/projects/{project}/",
        additional_headers={
            "Cookie": f"sessionid={watcher.session}",
            "Origin": f"http://{studio.url}",
        },
        max_size=2**22,
        open_timeout=60,
        ping_interval=None,
    ) as ws:
        ready.set()
        async for message in ws:
            now = time.time() * 1000
            if message.startswith("{"):
                continue
            if 'id="presence"' in message:
                watcher.presence, watcher.presence_at = message, time.monotonic()
            sent = SENT.search(message)
            for pk, status in BADGE.findall(message):
                states = watcher.seen.setdefault(int(pk), [])
                if not states or states[-1] != status:
                    states.append(status)
                    if sent:
                        watcher.delays.setdefault(int(pk), []).append(now - int(sent[1]))


def api(studio: Studio, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://{studio.url}/api/v1{path}",
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method=method,
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


def generate(studio: Studio, token: str, project: int) -> int:
    version = api(
        studio,
        token,
        "POST",
        f"/projects/{project}/versions",
        {"prompt": "A paper boat on a rainy street", "resolution": "480p", "duration_seconds": 3},
    )
    return version["number"]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))] if ordered else 0.0


async def websockets_row(redis: bool, count: int) -> dict:
    studio = start_studio(redis)
    try:
        data = setup(studio, count)
        project = data["project"]
        watchers = [Watcher(session) for session in data["sessions"]]
        rss_before = studio.rss_kb()
        opened = [asyncio.Event() for _ in watchers]
        started = time.monotonic()
        tasks = [
            asyncio.create_task(watch(studio, project, w, e))
            for w, e in zip(watchers, opened, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 300)
        connected = time.monotonic() - started
        # Presence: until every watcher's count is everyone.
        everyone = f'data-count="{count}"'
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(everyone in w.presence for w in watchers):
            await asyncio.sleep(0.05)
        settled = max(w.presence_at for w in watchers) - (started + connected)
        await asyncio.sleep(2)
        rss_after = studio.rss_kb()
        number = await asyncio.to_thread(generate, studio, data["token"], project)
        pk = await asyncio.to_thread(_pk_of, studio, project, number)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(
            w.seen.get(pk, [""])[-1] == "ready" for w in watchers
        ):
            await asyncio.sleep(0.1)
        await asyncio.sleep(1)
        delays = [d for w in watchers for d in w.delays.get(pk, [])]
        complete = sum(1 for w in watchers if set(STATES) <= set(w.seen.get(pk, [])))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "sockets": count,
            "every state": f"{complete}/{count}",
            "states seen (min)": min(len(set(w.seen.get(pk, []))) for w in watchers),
            "p50 ms": percentile(delays, 0.5),
            "p95 ms": percentile(delays, 0.95),
            "max ms": max(delays, default=0.0),
            "connect s": connected,
            "KB/socket": (rss_after - rss_before) / count,
            "presence s": settled,
        }
    finally:
        studio.stop()


def _pk_of(studio: Studio, project: int, number: int) -> int:
    done = subprocess.run(
        [
            str(PYTHON),
            "manage.py",
            "shell",
            "-c",
            "from projects.models import Version\n"
            f"print(Version.objects.get(project_id={project}, number={number}).pk)",
        ],
        cwd=ROOT,
        env=studio.env,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


async def stream(studio: Studio, token: str, project: int, seen: list, delays: list, ready):
    host, port = studio.url.split(":")
    reader, writer = await asyncio.open_connection(host, int(port), limit=2**22)
    writer.write(
        (
            f"GET /api/v1/projects/{project}/events HTTP/1.1\r\nHost: {studio.url}\r\n"
            f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
        ).encode()
    )
    await writer.drain()
    try:
        while line := await reader.readline():
            if line.startswith(b"event: open"):
                ready.set()
            if not line.startswith(b"data: {"):
                continue
            event = json.loads(line[6:])
            if "status" in event and (not seen or seen[-1] != event["status"]):
                seen.append(event["status"])
                if event.get("sent_at"):
                    delays.append(time.time() * 1000 - event["sent_at"] * 1000)
    finally:
        writer.close()


async def streams_row(redis: bool, count: int) -> dict:
    studio = start_studio(redis)
    try:
        data = setup(studio, 1)
        project, token = data["project"], data["token"]
        seen = [[] for _ in range(count)]
        delays = [[] for _ in range(count)]
        opened = [asyncio.Event() for _ in range(count)]
        started = time.monotonic()
        tasks = [
            asyncio.create_task(stream(studio, token, project, s, d, e))
            for s, d, e in zip(seen, delays, opened, strict=True)
        ]
        await asyncio.wait_for(asyncio.gather(*(e.wait() for e in opened)), 300)
        connected = time.monotonic() - started
        await asyncio.to_thread(generate, studio, token, project)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not all(s and s[-1] == "ready" for s in seen):
            await asyncio.sleep(0.1)
        all_delays = [x for d in delays for x in d]
        complete = sum(1 for s in seen if set(STATES) <= set(s))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "streams": count,
            "every state": f"{complete}/{count}",
            "p50 ms": percentile(all_delays, 0.5),
            "p95 ms": percentile(all_delays, 0.95),
            "max ms": max(all_delays, default=0.0),
            "connect s": connected,
        }
    finally:
        studio.stop()


def show(row: dict) -> None:
    print(
        "  ".join(
            f"{key} {value:.1f}" if isinstance(value, float) else f"{key} {value}"
            for key, value in row.items()
        ),
        flush=True,
    )


async def main() -> None:
    redis = "--redis" in sys.argv
    print(f"layer: {'Redis' if redis else 'in-memory (embedded default)'}", flush=True)
    for count in WATCHERS:
        show(await websockets_row(redis, count))
    if STREAMS:
        show(await streams_row(redis, STREAMS))
    print(f"(delays over every receipt of every socket; {os.cpu_count()} cores)")


if __name__ == "__main__":
    asyncio.run(main())
