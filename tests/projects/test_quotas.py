"""Quotas across processes: two real ``db_worker`` processes on PostgreSQL
submit a burst of generations through the real google-genai SDK to the local
double of the Gemini API, under a quota of 5 requests per rolling minute (a
minute shortened to 6 s here) and 12 generations a day. The double's own
clock says how many creates reached it in any minute."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.contract.interactions_double import API_KEY, GeminiDouble
from tests.processes import LOCAL_CLIP, manage, scratch_database, spawn, stop_all, wait_for

PER_MINUTE, MINUTE, PER_DAY = 5, 6.0, 12
# Taking a use and its request reaching the double are a moment apart.
MARGIN = 1.0

BURST = """
import json
from django.contrib.auth import get_user_model
from projects.models import Membership, Project
from projects.services import team, versions
owner = get_user_model().objects.create_user("producer", password="a long passphrase 42")
workspace = team.workspace_create_for_new_user(user=owner)
project = Project.objects.create(workspace=workspace, title="Burst", default_engine="gemini")
membership = Membership.objects.get(user=owner, workspace=workspace)
made = versions.version_create_variations(
    count=4, project=project, membership=membership, author=owner, kind="text_to_video",
    prompt="A lighthouse at dusk, one continuous shot", aspect_ratio="16:9",
    resolution="720p", duration_seconds=3, engine="gemini")
made += versions.version_create_variations(
    count=4, project=project, membership=membership, author=owner, kind="text_to_video",
    prompt="A harbour at dawn, one continuous shot", aspect_ratio="16:9",
    resolution="720p", duration_seconds=3, engine="gemini")
made += versions.version_create_variations(
    count=4, project=project, membership=membership, author=owner, kind="text_to_video",
    prompt="A ferry in fog, one continuous shot", aspect_ratio="16:9",
    resolution="720p", duration_seconds=3, engine="gemini")
print(json.dumps({"project": project.pk, "versions": [v.pk for v in made]}))
"""

ONE_MORE = """
from projects.models import Membership, Project
from projects.services import versions
from projects.services.errors import StudioError
project = Project.objects.get(pk={project})
membership = Membership.objects.get(workspace=project.workspace)
try:
    versions.version_create(
        project=project, membership=membership, author=membership.user, kind="text_to_video",
        prompt="One more", aspect_ratio="16:9", resolution="720p", duration_seconds=3,
        engine="gemini")
except StudioError as error:
    print("refused:", error.message)
"""


@pytest.fixture
def studio(tmp_path):
    with scratch_database("studio_quota") as database:
        double = GeminiDouble().start()
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE", "REDIS"))},
            "DATABASE_URL": database,
            "GEMINI_API_KEY": API_KEY,
            "GEMINI_BASE_URL": double.url,
            "GEMINI_REQUESTS_PER_MINUTE": str(PER_MINUTE),
            "GEMINI_GENERATIONS_PER_DAY": str(PER_DAY),
            "STUDIO_QUOTA_MINUTE_SECONDS": str(MINUTE),
            "SECRET_KEY": "quota-" + uuid.uuid4().hex,
            "STUDIO_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STUDIO_IN_PROCESS_WORKER": "0",
            "STUDIO_POLL_SECONDS": "0.3",
            "PYTHONUNBUFFERED": "1",
        }
        workers: list[subprocess.Popen] = []
        try:
            yield env, double, workers, database
        finally:
            stop_all(workers)
            double.stop()


def test_a_burst_over_the_minutes_quota_waits_its_turn_and_the_days_cap_holds(studio, tmp_path):
    env, double, workers, database = studio
    manage(env, "migrate", "--verbosity", "0")
    clip = manage(env, "shell", "-c", LOCAL_CLIP + "print(target)").strip().splitlines()[-1]
    double.run_model(Path(clip).read_bytes(), latency=0.5)
    burst = json.loads(manage(env, "shell", "-c", BURST).strip().splitlines()[-1])
    for n in range(2):
        workers.append(
            spawn(
                env,
                "db_worker",
                "--worker-id",
                f"worker-{n}",
                "--interval",
                "0.2",
                log=tmp_path / "workers.log",
            )
        )
    db = psycopg.connect(database, autocommit=True)
    waits: set[str] = set()

    def all_finished() -> bool:
        rows = db.execute(
            "SELECT status, error_kind, error_message FROM projects_version WHERE id = ANY(%s)",
            [burst["versions"]],
        ).fetchall()
        waits.update(message for status, kind, message in rows if kind == "quota")
        return all(status in {"ready", "failed"} for status, _, _ in rows)

    wait_for(all_finished, timeout=90, message="the burst to finish", every=0.1)
    statuses = db.execute(
        "SELECT status, count(*) FROM projects_version WHERE id = ANY(%s) GROUP BY status",
        [burst["versions"]],
    ).fetchall()
    errors = db.execute(
        "SELECT DISTINCT error_kind, error_message FROM projects_version WHERE status = 'failed'"
    ).fetchall()
    assert dict(statuses) == {"ready": 12}, errors

    # At the double: never more than 5 creates in any rolling minute, and
    # the twelve took three minutes' worth.
    created = sorted(record.at for record in double.creates)
    assert len(created) == 12
    for index, at in enumerate(created):
        in_minute = [t for t in created[: index + 1] if t > at - MINUTE]
        assert len(in_minute) <= PER_MINUTE, [round(t - created[0], 2) for t in created]
    assert created[-1] - created[0] >= 2 * MINUTE
    # The waiting ones said so while they waited.
    assert waits and all("5 requests a minute" in message for message in waits), waits
    uses = db.execute("SELECT count(*) FROM projects_quotause").fetchone()[0]
    assert uses == 12

    # The day's 12 are used: the next is refused before anything is made.
    answer = manage(env, "shell", "-c", ONE_MORE.format(project=burst["project"]))
    assert "refused: Today's 12 generations" in answer
    assert "starts again at 00:00 UTC" in answer
    assert db.execute("SELECT count(*) FROM projects_version").fetchone()[0] == 12
    assert len(double.creates) == 12
    db.close()
