"""Past one machine, on real parts: PostgreSQL, Redis, an S3 API server
(moto's), two ASGI servers on two ports and two `db_worker` processes, set
up as the README's production guide says.

A member's websocket on server 1 watches a generation submitted through the
API on server 2 and sees its states; the worker rendering it is killed
(SIGKILL) and the other finishes it; the MP4 lands in the bucket (nothing
under MEDIA_ROOT), is served through server 1 with a Range request, and
decodes. The processes get their own database and Redis prefix, so this runs
the same whatever the test run's own configuration."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import subprocess
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import av
import boto3
import psycopg
import pytest
from websockets.asyncio.client import connect

from tests.processes import free_port, manage, spawn, stop_all, wait_for

POSTGRES = "postgres://postgres@127.0.0.1:5432"
STATES = {"queued", "submitting", "generating", "saving", "ready"}
BADGE = re.compile(r'id="badge-(\d+)" class="badge status-\w+" data-status="(\w+)"')

SETUP = """
import json
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from projects.models import Membership, Project
from projects.services import team
from projects.services.tokens import api_token_create
owner = get_user_model().objects.create_user("producer", password="a long passphrase 42")
workspace = team.workspace_create_for_new_user(user=owner)
project = Project.objects.create(workspace=workspace, title="Two servers", default_engine="local")
watcher = get_user_model().objects.create_user("reviewer", password="a long passphrase 42")
Membership.objects.create(user=watcher, workspace=workspace, role="reviewer")
store = SessionStore()
store[SESSION_KEY] = str(watcher.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = watcher.get_session_auth_hash()
store.create()
_, token = api_token_create(user=owner, name="pipeline")
print(json.dumps({"project": project.pk, "session": store.session_key, "token": token}))
"""


def get(url: str, headers: dict) -> urllib.request.addinfourl:
    return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=30)


@pytest.fixture
def scale_out(tmp_path, s3_server):
    """The environment of every process, as the production guide writes it."""
    database = f"studio_scale_out_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{database}"')
    bucket = f"media-{uuid.uuid4().hex[:8]}"
    credentials = {"AWS_ACCESS_KEY_ID": "studio", "AWS_SECRET_ACCESS_KEY": "studio-secret"}
    boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name="us-east-1",
        **{
            "aws_access_key_id": credentials["AWS_ACCESS_KEY_ID"],
            "aws_secret_access_key": credentials["AWS_SECRET_ACCESS_KEY"],
        },
    ).create_bucket(Bucket=bucket)
    media_root = tmp_path / "media"
    media_root.mkdir()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
        **credentials,
        "DATABASE_URL": f"{POSTGRES}/{database}",
        "REDIS_URL": "redis://127.0.0.1:6379/6",
        "REDIS_PREFIX": f"scale-out-{uuid.uuid4().hex[:8]}",
        "STORAGE_URL": f"s3://{bucket}?endpoint_url={s3_server}&region=us-east-1",
        "SECRET_KEY": "scale-out-test-secret-key-" + uuid.uuid4().hex,
        "STUDIO_VAR_DIR": str(tmp_path / "var"),
        "MEDIA_ROOT": str(media_root),
        "STUDIO_IN_PROCESS_WORKER": "0",
        # A killed worker's version is picked up within seconds.
        "STUDIO_LEASE_SECONDS": "5",
        "STUDIO_SWEEP_SECONDS": "2",
        "STUDIO_HOUSEKEEPING_SECONDS": "1",
        "STUDIO_HOUSEKEEPING_RECLAIM_SECONDS": "1",
        "STUDIO_LIVE_HEARTBEAT_SECONDS": "2",
        "PYTHONUNBUFFERED": "1",
    }
    processes: list[subprocess.Popen] = []
    try:
        yield env, bucket, processes
    finally:
        stop_all(processes, sig=signal.SIGINT)
        with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_two_servers_two_workers_a_bucket_and_a_killed_worker(scale_out, s3_server, tmp_path):
    env, bucket, processes = scale_out
    manage(env, "migrate", "--verbosity", "0")
    setup = json.loads(manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    ports = [free_port(), free_port()]
    for number, port in enumerate(ports, start=1):
        processes.append(
            spawn(
                env,
                "studio",
                "--no-worker",
                f"127.0.0.1:{port}",
                log=tmp_path / f"server{number}.log",
            )
        )
    workers = {}
    for name in ("worker-a", "worker-b"):
        workers[name] = spawn(
            env, "db_worker", "--worker-id", name, "--interval", "0.2", log=tmp_path / f"{name}.log"
        )
        processes.append(workers[name])
    for port in ports:
        wait_for(
            lambda port=port: _answers(f"http://127.0.0.1:{port}/healthz"),
            timeout=60,
            message=f"server on {port} to be healthy",
        )
    one, two = (f"127.0.0.1:{port}" for port in ports)
    auth = {"Authorization": f"Bearer {setup['token']}", "Content-Type": "application/json"}
    states: list[str] = []

    async def scenario() -> dict:
        async with connect(
            f"ws://{one}/ws/projects/{setup['project']}/",
            additional_headers={
                "Cookie": f"sessionid={setup['session']}",
                "Origin": f"http://{one}",
            },
            ping_interval=None,
        ) as ws:
            await ws.recv()  # the latest event number: the page is live
            request = urllib.request.Request(
                f"http://{two}/api/v1/projects/{setup['project']}/versions",
                data=json.dumps(
                    {
                        "prompt": "A lighthouse at dusk",
                        "resolution": "1080p",
                        "duration_seconds": 10,
                    }
                ).encode(),
                headers=auth,
                method="POST",
            )
            version = json.load(await asyncio.to_thread(urllib.request.urlopen, request))
            killed = None
            while not states or states[-1] != "ready":
                message = await asyncio.wait_for(ws.recv(), 120)
                for _, status in BADGE.findall(message):
                    if not states or states[-1] != status:
                        states.append(status)
                if killed is None and states and states[-1] == "generating" and "%" in message:
                    killed = await asyncio.to_thread(_kill_the_renderer, env, workers)
            return {"version": version, "killed": killed}

    # A loop of its own: the browser tests' Playwright may hold this thread's.
    with ThreadPoolExecutor(max_workers=1) as pool:
        result = pool.submit(lambda: asyncio.run(asyncio.wait_for(scenario(), 300))).result()
    number = result["version"]["number"]
    assert result["killed"] in workers
    assert set(states) >= STATES, states
    # The other worker finished it.
    survivor = next(n for n in workers if n != result["killed"])
    assert workers[result["killed"]].poll() is not None and workers[survivor].poll() is None
    # The survivor's housekeeping marks the dead worker's task failed, so no
    # row stays RUNNING for ever.
    wait_for(
        lambda: "FAILED" in (rows := _task_rows(env, result["killed"])) and "RUNNING" not in rows,
        timeout=30,
        message="the killed worker's task to be reclaimed",
    )

    # In the bucket, nowhere else.
    keys = [
        item["Key"]
        for item in boto3.client(
            "s3",
            endpoint_url=s3_server,
            region_name="us-east-1",
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        ).list_objects_v2(Bucket=bucket)["Contents"]
    ]
    assert any(key.endswith(".mp4") for key in keys) and any(key.endswith(".jpg") for key in keys)
    assert not any(Path(env["MEDIA_ROOT"]).rglob("*.*"))

    # Served through server 1 to the member, by range, and it decodes.
    cookie = {"Cookie": f"sessionid={setup['session']}"}
    video_url = f"http://{one}/projects/{setup['project']}/v/{number}/video.mp4"
    part = get(video_url, {**cookie, "Range": "bytes=0-65535"})
    assert part.status == 206 and len(part.read()) == 65536
    whole = get(video_url, cookie).read()
    with av.open(io.BytesIO(whole)) as container:
        stream = container.streams.video[0]
        assert (stream.codec_context.width, stream.codec_context.height) == (1920, 1080)
        assert sum(1 for _ in container.decode(stream)) == 240


def _answers(url: str) -> bool:
    try:
        return urllib.request.urlopen(url, timeout=2).status == 200
    except OSError:
        return False


def _task_rows(env: dict, worker: str) -> set[str]:
    """The states of the generation task rows the worker last ran."""
    printed = manage(
        env,
        "shell",
        "-c",
        "from django_tasks_db.models import DBTaskResult\n"
        "rows = DBTaskResult.objects.filter(task_path='projects.tasks.advance_generation')\n"
        f"mine = {{r.status for r in rows if r.worker_ids[-1:] == [{worker!r}]}}\n"
        "print('states:' + ','.join(mine))",
    )
    return set(filter(None, printed.strip().splitlines()[-1].removeprefix("states:").split(",")))


def _kill_the_renderer(env: dict, workers: dict[str, subprocess.Popen]) -> str:
    """SIGKILL the worker running the render, as a machine that dies."""
    running = (
        manage(
            env,
            "shell",
            "-c",
            "from django_tasks_db.models import DBTaskResult\n"
            "row = DBTaskResult.objects.filter(status='RUNNING',"
            " task_path='projects.tasks.advance_generation').first()\n"
            "print(row.worker_ids[-1] if row else '')",
        )
        .strip()
        .splitlines()[-1]
    )
    assert running in workers, running
    workers[running].send_signal(signal.SIGKILL)
    workers[running].wait(10)
    return running
