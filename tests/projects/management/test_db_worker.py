"""The studio's ``db_worker``: a real worker process on PostgreSQL."""

from __future__ import annotations

import time
import uuid

import psycopg

from tests.processes import manage, scratch_database

TASKS = 30

ENQUEUE = f"""
from projects.tasks import sweep_versions
for _ in range({TASKS}):
    sweep_versions.enqueue()
"""


def sessions(database: str) -> int:
    """Connections ever opened to the database (PostgreSQL counts them)."""
    name = database.rsplit("/", 1)[1]
    with psycopg.connect(database.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute("SELECT pg_stat_clear_snapshot()")
        row = admin.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = %s", [name]
        ).fetchone()
    return row[0] if row else 0


def settled_sessions(database: str) -> int:
    # A backend reports its session when its statistics are flushed, within a second.
    seen = sessions(database)
    for _ in range(20):
        time.sleep(0.25)
        now = sessions(database)
        if now == seen:
            return now
        seen = now
    return seen


def test_a_worker_keeps_its_database_connection_between_tasks(tmp_path):
    with scratch_database("studio_worker") as database:
        env = {
            "PATH": "/usr/bin:/bin",
            "DATABASE_URL": database,
            # The web's default on PostgreSQL: a connection per request.
            "CONN_MAX_AGE": "0",
            "SECRET_KEY": "worker-" + uuid.uuid4().hex,
            "STUDIO_VAR_DIR": str(tmp_path / "var"),
            "MEDIA_ROOT": str(tmp_path / "media"),
            "STUDIO_IN_PROCESS_WORKER": "0",
            "STUDIO_HOUSEKEEPING_SECONDS": "600",
        }
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "shell", "-c", ENQUEUE)
        before = settled_sessions(database)
        manage(env, "db_worker", "--batch", "--worker-id", "kept", "--interval", "0")
        opened = settled_sessions(database) - before
        with psycopg.connect(database, autocommit=True) as db:
            left = db.execute(
                "SELECT count(*) FROM django_tasks_database_dbtaskresult"
                " WHERE status <> 'SUCCESSFUL'"
            ).fetchone()[0]
    assert left == 0
    # The worker's own thread and its housekeeping thread, not one per task.
    assert opened <= 4, f"{opened} connections for {TASKS} tasks"
