"""The crash harness: real ``db_worker`` processes SIGKILLed at every phase of
a paid generation, against the real google-genai SDK talking to a local
double of the Gemini API, on PostgreSQL.

Every version is an edit of an uploaded clip, so each one uploads through
the Files API (held PROCESSING for seconds), makes one paid create (answered
slowly), is polled while the model works, and is downloaded (slowly). The
harness kills the worker holding a version in each phase, ``ROUNDS`` times
per phase, starting a fresh worker each time, and then asserts what money
and work need: every version finishes; no version is created twice at the
API; only a version whose create reached the API is left for a person to
decide; every ready version is a decodable MP4.

One round runs with the suite; five rounds are marked slow (``-m slow``),
and the README's figures come from them. The counts are written to
``test-artifacts/crash-harness-<rounds>.json``.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
import uuid
from collections import Counter
from pathlib import Path

import av
import psycopg
import pytest

from tests.contract.interactions_double import GeminiDouble
from tests.processes import (
    LOCAL_CLIP,
    ROOT,
    manage,
    scratch_database,
    spawn,
    stop_all,
    wait_for,
)

PHASES = ("preparing", "paid call", "generating", "saving")
MARKER = re.compile(r"\[harness (\d+)\]")

CLIP = (
    LOCAL_CLIP
    + """
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from projects.models import Membership, Project
from projects.services import team, versions
owner = get_user_model().objects.create_user("producer", password="a long passphrase 42")
workspace = team.workspace_create_for_new_user(user=owner)
project = Project.objects.create(workspace=workspace, title="Crashes", default_engine="gemini")
membership = Membership.objects.get(user=owner, workspace=workspace)
upload = versions.version_create_upload(
    project=project, membership=membership, author=owner,
    upload=SimpleUploadedFile("clip.mp4", target.read_bytes(), "video/mp4"))
print(json.dumps({"project": project.pk, "upload": upload.pk, "video": str(target)}))
"""
)

EDITS = """
import json
from projects.models import Membership, Version
from projects.services import versions
upload = Version.objects.get(pk={upload})
membership = Membership.objects.get(workspace=upload.project.workspace)
made = [
    versions.version_create(
        project=upload.project, membership=membership, author=membership.user,
        kind="edit", parent=upload, engine="gemini", resolution="720p",
        aspect_ratio="16:9", duration_seconds=3,
        prompt=f"Make it night, keep everything else the same [harness {{n}}]",
    ).pk
    for n in range({count})
]
print(json.dumps(made))
"""


@pytest.fixture
def harness(tmp_path):
    """Its own PostgreSQL database, the Gemini double, and the worker
    processes a test starts (stopped afterwards); yields the database's URL."""
    with scratch_database("studio_crash") as database:
        double = GeminiDouble().start()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
            "DATABASE_URL": database,
            "GEMINI_API_KEY": "test-key",
            "GEMINI_BASE_URL": double.url,
            "GEMINI_TIMEOUT_SECONDS": "20",
            "SECRET_KEY": "crash-harness-" + uuid.uuid4().hex,
            "STUDIO_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STUDIO_IN_PROCESS_WORKER": "0",
            "STUDIO_LEASE_SECONDS": "3",
            "STUDIO_SWEEP_SECONDS": "1",
            "STUDIO_POLL_SECONDS": "0.5",
            "STUDIO_HOUSEKEEPING_SECONDS": "0.5",
            "STUDIO_HOUSEKEEPING_RECLAIM_SECONDS": "1",
            "PYTHONUNBUFFERED": "1",
        }
        workers: dict[str, subprocess.Popen] = {}
        try:
            yield env, double, workers, database
        finally:
            stop_all(workers.values())
            double.stop()


@pytest.mark.parametrize("rounds", [1, pytest.param(5, marks=pytest.mark.slow)])
def test_workers_killed_in_every_phase_never_pay_twice_nor_ask_needlessly(
    harness, tmp_path, rounds
):
    env, double, workers, database = harness
    manage(env, "migrate", "--verbosity", "0")
    setup = json.loads(manage(env, "shell", "-c", CLIP).strip().splitlines()[-1])
    started = 0

    def start_worker() -> None:
        nonlocal started
        started += 1
        name = f"worker-{started}"
        workers[name] = spawn(
            env, "db_worker", "--worker-id", name, "--interval", "0.2", log=tmp_path / "workers.log"
        )

    start_worker()
    start_worker()
    db = psycopg.connect(database, autocommit=True)

    def status(pk: int) -> str:
        return db.execute("SELECT status FROM projects_version WHERE id = %s", [pk]).fetchone()[0]

    wait_for(lambda: status(setup["upload"]) == "ready", timeout=60, message="the clip's import")

    double.next_file_states = ["PROCESSING", "PROCESSING", "PROCESSING", "ACTIVE"]
    double.run_model(
        Path(setup["video"]).read_bytes(),
        latency=3.0,
        create_delay=2.0,
        poll_delay=0.5,
        download_delay=2.0,
    )
    count = len(PHASES) * rounds + 4
    edits = json.loads(
        manage(env, "shell", "-c", EDITS.format(upload=setup["upload"], count=count))
        .strip()
        .splitlines()[-1]
    )
    number_of = {pk: n for n, pk in enumerate(edits)}

    def created(pk: int) -> int:
        """Creates that reached the API for this version."""
        return sum(
            1
            for record in double.creates
            if (m := MARKER.search(record.body.decode())) and int(m.group(1)) == number_of[pk]
        )

    def holder(pk: int) -> str | None:
        """The live worker whose running task holds the version."""
        row = db.execute(
            "SELECT worker_ids FROM django_tasks_database_dbtaskresult "
            "WHERE task_path = 'projects.tasks.advance_generation' "
            "AND (args_kwargs -> 'args' ->> 0)::int = %s AND status = 'RUNNING' "
            "ORDER BY started_at DESC LIMIT 1",
            [pk],
        ).fetchone()
        worker = row[0][-1] if row and row[0] else ""
        alive = worker in workers and workers[worker].poll() is None
        return worker if alive else None

    def in_phase(phase: str) -> tuple[int, str] | None:
        """A version in the phase, and the worker to kill."""
        rows = db.execute(
            "SELECT id, status, paid_call_started_at IS NOT NULL, interaction_id "
            "FROM projects_version WHERE id = ANY(%s)",
            [edits],
        ).fetchall()
        for pk, state, marked, interaction_id in rows:
            if phase == "preparing":
                hit = state == "submitting" and not marked
            elif phase == "paid call":
                hit = state == "submitting" and marked and not interaction_id and created(pk)
            else:
                hit = state == phase
            worker = hit and holder(pk)
            if worker:
                return pk, worker
        return None

    kills: Counter[str] = Counter()
    decisions: set[int] = set()
    terminal = {"ready", "failed", "blocked", "cancelled"}
    deadline = time.monotonic() + 120 + 40 * rounds
    needed = Counter({phase: rounds for phase in PHASES})
    while time.monotonic() < deadline:
        states = dict(
            db.execute(
                "SELECT id, status FROM projects_version WHERE id = ANY(%s)", [edits]
            ).fetchall()
        )
        for pk, state in states.items():
            if state == "reconcile":
                decisions.add(pk)
                # A person decides: cancel, rather than risk paying twice.
                manage(
                    env,
                    "shell",
                    "-c",
                    "from projects.models import Membership, Version\n"
                    "from projects.services import decisions\n"
                    f"v = Version.objects.get(pk={pk})\n"
                    "m = Membership.objects.get(workspace=v.project.workspace)\n"
                    "decisions.version_reconcile(version=v, membership=m, resubmit=False)",
                )
        for phase in (p for p in PHASES if needed[p]):
            found = in_phase(phase)
            if found:
                workers[found[1]].send_signal(signal.SIGKILL)
                workers[found[1]].wait(10)
                kills[phase] += 1
                needed[phase] -= 1
                start_worker()
                break
        if all(state in terminal for state in states.values()):
            break
        time.sleep(0.1)
    db.close()

    final = dict(
        psycopg.connect(database)
        .execute("SELECT id, status FROM projects_version WHERE id = ANY(%s)", [edits])
        .fetchall()
    )
    counts = {
        "kills": dict(kills),
        "versions": len(edits),
        "final": dict(Counter(final.values())),
        "decisions": len(decisions),
        "creates_per_version": dict(Counter(created(pk) for pk in edits)),
    }
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    (artifacts / f"crash-harness-{rounds}.json").write_text(json.dumps(counts, indent=2))

    assert kills == {phase: rounds for phase in PHASES}, counts
    assert all(state in terminal for state in final.values()), counts
    # Never paid twice.
    assert all(created(pk) <= 1 for pk in edits), counts
    # Asked only where the create had reached the API.
    assert all(created(pk) == 1 for pk in decisions), counts
    assert len(decisions) >= rounds  # every paid-call kill needs one
    ready = [pk for pk, state in final.items() if state == "ready"]
    assert len(ready) == len(edits) - len(decisions), counts
    media = Path(env["MEDIA_ROOT"])
    with psycopg.connect(database) as check:
        for pk in ready:
            (name,) = check.execute(
                "SELECT video FROM projects_version WHERE id = %s", [pk]
            ).fetchone()
            with av.open(str(media / name)) as container:
                assert sum(1 for _ in container.decode(video=0)) > 0


def test_two_workers_racing_many_versions_claim_and_create_each_once(harness, tmp_path):
    env, double, workers, database = harness
    manage(env, "migrate", "--verbosity", "0")
    setup = json.loads(manage(env, "shell", "-c", CLIP).strip().splitlines()[-1])
    for name in ("racer-1", "racer-2"):
        workers[name] = spawn(
            env, "db_worker", "--worker-id", name, "--interval", "0.05", log=tmp_path / "race.log"
        )
    db = psycopg.connect(database, autocommit=True)

    def statuses(pks: list[int]) -> dict[int, str]:
        return dict(db.execute("SELECT id, status FROM projects_version WHERE id = ANY(%s)", [pks]))

    wait_for(
        lambda: statuses([setup["upload"]])[setup["upload"]] == "ready",
        timeout=60,
        message="the clip's import",
    )
    double.run_model(Path(setup["video"]).read_bytes(), latency=1.0)
    count = 40
    edits = json.loads(
        manage(env, "shell", "-c", EDITS.format(upload=setup["upload"], count=count))
        .strip()
        .splitlines()[-1]
    )
    wait_for(
        lambda: all(s == "ready" for s in statuses(edits).values()),
        timeout=240,
        message="forty edits on two workers",
        every=0.5,
    )
    db.close()
    # Each version reached the API once, though both workers were offered
    # every one of them (each was enqueued, swept and polled by either).
    made = Counter(
        int(m.group(1)) for record in double.creates if (m := MARKER.search(record.body.decode()))
    )
    assert made == Counter({n: 1 for n in range(count)})
    # No worker ever found a version taken from under it mid-step.
    log = (tmp_path / "race.log").read_text()
    assert "lease lost" not in log and "no longer ours" not in log
    with psycopg.connect(database) as check:
        interaction_ids = [
            row[0]
            for row in check.execute(
                "SELECT interaction_id FROM projects_version WHERE id = ANY(%s)", [edits]
            )
        ]
        (failed_tasks,) = check.execute(
            "SELECT count(*) FROM django_tasks_database_dbtaskresult WHERE status = 'FAILED'"
        ).fetchone()
        workers_seen = {
            row[0][-1]
            for row in check.execute(
                "SELECT worker_ids FROM django_tasks_database_dbtaskresult "
                "WHERE task_path = 'projects.tasks.advance_generation' AND worker_ids <> '[]'"
            )
        }
    assert len(set(interaction_ids)) == count and all(interaction_ids)
    assert failed_tasks == 0
    assert workers_seen == {"racer-1", "racer-2"}  # both really raced
