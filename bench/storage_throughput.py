"""Media through an S3-compatible bucket (moto's standalone server on
loopback) against local disk, in one run: a worker storing a 50 MB video,
a member downloading it through a real `manage.py studio`, and the first
byte of a Range request (what a player's seek waits for). A benchmark, not
a test.

    uv run python bench/storage_throughput.py
"""

import json
import os
import signal
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv" / "bin" / "python"
SIZE = 50 * 1024 * 1024
REPEATS = 5
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench-secret"}

SETUP = """
import json, os, time
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.files import File
from projects.models import Project, Version
from projects.services import team
from projects.services.storage import media_storage
user = get_user_model().objects.create_user("bench", password="a long passphrase 42")
project = Project.objects.create(workspace=team.workspace_create_for_new_user(user=user), title="b")
stores = []
for number in range(1, {repeats} + 1):
    started = time.perf_counter()
    with open({source!r}, "rb") as handle:
        name = media_storage().save(f"versions/bench-{{number}}.mp4", File(handle))
    stores.append(time.perf_counter() - started)
    Version.objects.create(project=project, number=number, kind="text_to_video", prompt="b",
        aspect_ratio="16:9", resolution="720p", duration_seconds=5, engine="local",
        status="ready", video=name, video_bytes=os.path.getsize({source!r}))
store = SessionStore()
store[SESSION_KEY] = str(user.pk)
store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
store[HASH_SESSION_KEY] = user.get_session_auth_hash()
store.create()
print(json.dumps({{"project": project.pk, "session": store.session_key, "stores": stores}}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_up(url: str) -> None:
    for _ in range(600):
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{url} did not answer")


def run(storage_url: str, source: Path) -> dict[str, list[float]]:
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}},
        **CREDENTIALS,
        "STUDIO_VAR_DIR": tempfile.mkdtemp(prefix="studio-storage-bench-"),
        "STUDIO_IN_PROCESS_WORKER": "0",
    }
    if storage_url:
        env["STORAGE_URL"] = storage_url
    subprocess.run([str(PYTHON), "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True)
    made = subprocess.run(
        [
            str(PYTHON),
            "manage.py",
            "shell",
            "-c",
            SETUP.format(repeats=REPEATS, source=str(source)),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    setup = json.loads(made.stdout.strip().splitlines()[-1])
    port = free_port()
    server = subprocess.Popen(
        [str(PYTHON), "manage.py", "studio", "--no-worker", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(f"http://127.0.0.1:{port}/healthz")
        cookie = {"Cookie": f"sessionid={setup['session']}"}
        times = {"store": setup["stores"], "download": [], "range first byte": []}
        for number in range(1, REPEATS + 1):
            url = f"http://127.0.0.1:{port}/projects/{setup['project']}/v/{number}/video.mp4"
            started = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, headers=cookie)) as response:
                assert len(response.read()) == SIZE
            times["download"].append(time.perf_counter() - started)
            ranged = {**cookie, "Range": f"bytes={SIZE // 2}-{SIZE // 2 + 1024 * 1024 - 1}"}
            started = time.perf_counter()
            with urllib.request.urlopen(urllib.request.Request(url, headers=ranged)) as response:
                assert response.status == 206
                response.read(1)
                times["range first byte"].append(time.perf_counter() - started)
        return times
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def main() -> None:
    source = Path(tempfile.mkdtemp(prefix="studio-bench-video-")) / "video.mp4"
    source.write_bytes(os.urandom(SIZE))
    port = free_port()
    moto = subprocess.Popen(
        [str(PYTHON.parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{endpoint}/moto-api/")
        bucket = f"bench-{uuid.uuid4().hex[:8]}"
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        ).create_bucket(Bucket=bucket)
        local = run("", source)
        s3 = run(f"s3://{bucket}?endpoint_url={endpoint}&region=us-east-1", source)
    finally:
        moto.terminate()
    print(f"a 50 MB video, median of {REPEATS} (min to max); moto_server on loopback")
    print(f"{'':<17} {'local disk':>24} {'S3 (moto)':>24} {'ratio':>6}")
    for what in local:
        scale, unit = (1000, "ms") if what == "range first byte" else (1, "s")
        cells = []
        for figures in (local[what], s3[what]):
            cells.append(
                f"{statistics.median(figures) * scale:.3f} {unit} "
                f"({min(figures) * scale:.3f}–{max(figures) * scale:.3f})"
            )
        ratio = statistics.median(s3[what]) / statistics.median(local[what])
        print(f"{what:<17} {cells[0]:>24} {cells[1]:>24} {ratio:>6.2f}")


if __name__ == "__main__":
    main()
