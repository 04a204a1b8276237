"""How fast two workers get generations through Gemini: real ``db_worker``
processes on PostgreSQL + Redis, the real google-genai SDK, and the local
double of the Interactions API acting as a model that takes 10 s per video.
For 50 and 200 generations, with and without a busy API (each interaction's
first poll answered 429 with Retry-After 2 s, its second 503), it reports the
makespan (first version queued to last version ready) against the target
1.2 × (time until the last create reached the API + the model's 10 s).
A benchmark, not a test.

    uv run python bench/gemini_throughput.py
    BENCH_SIZES=50 BENCH_POLL_SECONDS=2 uv run python bench/gemini_throughput.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.contract.interactions_double import GeminiDouble  # noqa: E402
from tests.processes import LOCAL_CLIP, manage, scratch_database, spawn, stop_all  # noqa: E402

LATENCY = 10.0
WORKERS = 2
SIZES = [int(n) for n in os.environ.get("BENCH_SIZES", "50,200").split(",")]
POLL_SECONDS = os.environ.get("BENCH_POLL_SECONDS", "1")

CLIP = LOCAL_CLIP + "print(target)\n"

PROJECT = """
import json
from django.contrib.auth import get_user_model
from projects.models import Membership, Project
from projects.services import team
owner = get_user_model().objects.create_user("producer", password="a long passphrase 42")
workspace = team.workspace_create_for_new_user(user=owner)
project = Project.objects.create(workspace=workspace, title="Throughput", default_engine="gemini")
print(json.dumps({"project": project.pk}))
"""

GENERATE = """
from projects.models import Membership, Project
from projects.services import versions
project = Project.objects.get(pk={project})
membership = Membership.objects.get(workspace=project.workspace)
for n in range({count}):
    versions.version_create(
        project=project, membership=membership, author=membership.user,
        kind="text_to_video", engine="gemini", resolution="720p", aspect_ratio="16:9",
        duration_seconds=4, prompt=f"A paper boat on a rain puddle, take {{n}}",
    )
"""


def run(count: int, *, busy: bool, video: bytes, workdir: Path) -> dict:
    with scratch_database("studio_throughput") as database:
        return _run(database, count, busy=busy, video=video, workdir=workdir)


def _run(database: str, count: int, *, busy: bool, video: bytes, workdir: Path) -> dict:
    name = database.rsplit("/", 1)[1]
    double = GeminiDouble().start()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
        "DATABASE_URL": database,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "REDIS_PREFIX": f"bench-{name}",
        "GEMINI_API_KEY": "test-key",
        "GEMINI_BASE_URL": double.url,
        "SECRET_KEY": "bench-" + uuid.uuid4().hex,
        "STUDIO_VAR_DIR": str(workdir / name / "var"),
        "MEDIA_ROOT": str(workdir / name / "media"),
        "STUDIO_IN_PROCESS_WORKER": "0",
        "STUDIO_POLL_SECONDS": POLL_SECONDS,
        "PYTHONUNBUFFERED": "1",
    }
    workers: list[subprocess.Popen] = []
    try:
        manage(env, "migrate", "--verbosity", "0")
        project = json.loads(manage(env, "shell", "-c", PROJECT).strip().splitlines()[-1])
        double.run_model(video, latency=LATENCY, busy_polls=busy)
        for n in range(WORKERS):
            workers.append(
                spawn(
                    env,
                    "db_worker",
                    "--worker-id",
                    f"bench-{n}",
                    "--interval",
                    "0.1",
                    log=workdir / f"{name}.log",
                )
            )
        time.sleep(3)  # both workers up and polling the queue
        manage(env, "shell", "-c", GENERATE.format(project=project["project"], count=count))
        db = psycopg.connect(database, autocommit=True)
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            rows = dict(db.execute("SELECT status, count(*) FROM projects_version GROUP BY status"))
            if sum(rows.get(s, 0) for s in ("ready", "failed", "blocked", "cancelled")) >= count:
                break
            time.sleep(0.1)
        ready = rows.get("ready", 0)
        # From the first version queued, on the wall clock the double shares.
        first_queued, last_finished = db.execute(
            "SELECT EXTRACT(EPOCH FROM min(created_at)), EXTRACT(EPOCH FROM max(finished_at)) "
            "FROM projects_version"
        ).fetchone()
        db.close()
        creates = double.creates
        last_send = max(record.at for record in creates) - float(first_queued)
        makespan = float(last_finished) - float(first_queued)
        target = 1.2 * (last_send + LATENCY)
        return {
            "generations": count,
            "busy": busy,
            "ready": ready,
            "creates": len(creates),
            "last_send_s": round(last_send, 1),
            "makespan_s": round(makespan, 1),
            "target_s": round(target, 1),
            "met": makespan <= target and ready == count and len(creates) == count,
        }
    finally:
        stop_all(workers)
        double.stop()


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="studio-throughput-"))
    env = {**os.environ, "STUDIO_VAR_DIR": str(workdir / "clip-var")}
    env.pop("DATABASE_URL", None)
    clip = Path(manage(env, "shell", "-c", CLIP).strip().splitlines()[-1])
    video = clip.read_bytes()
    rows = [
        run(count, busy=busy, video=video, workdir=workdir)
        for count in SIZES
        for busy in (False, True)
    ]
    print(
        f"{WORKERS} db_workers, PostgreSQL + Redis, model latency {LATENCY:.0f} s, "
        f"poll every {POLL_SECONDS} s"
    )
    print(
        f"{'generations':>11} {'busy API':>9} {'ready':>6} {'creates':>8} "
        f"{'last send':>10} {'makespan':>9} {'target':>7} {'met':>4}"
    )
    for row in rows:
        print(
            f"{row['generations']:>11} {'yes' if row['busy'] else 'no':>9} {row['ready']:>6} "
            f"{row['creates']:>8} {row['last_send_s']:>9.1f}s {row['makespan_s']:>8.1f}s "
            f"{row['target_s']:>6.1f}s {'yes' if row['met'] else 'NO':>4}"
        )
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
