"""How the project page scales with its tree: queries and render time for
10, 100 and 1,000 versions. A benchmark, not a test.

    uv run python bench/project_page.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="studio-bench-"))
if "--postgres" not in sys.argv:
    os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from projects.models import Membership, Project, Version, Workspace  # noqa: E402

SIZES = tuple(int(s) for s in os.environ.get("BENCH_SIZES", "10,100,1000").split(","))
REPEATS = 5


def build(size: int, user) -> Project:
    workspace = Workspace.objects.create(name=f"bench {size}")
    Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    project = Project.objects.create(
        workspace=workspace, title=f"{size} versions", default_engine="local"
    )
    statuses = [Version.Status.READY] * 8 + [Version.Status.GENERATING, Version.Status.FAILED]
    previous: list[Version] = []
    for number in range(1, size + 1):
        # A bushy tree: every version edits one of the last few.
        parent = previous[-min(number % 4 + 1, len(previous))] if previous and number % 7 else None
        version = Version.objects.create(
            project=project,
            parent=parent,
            number=number,
            kind=Version.Kind.EDIT if parent else Version.Kind.TEXT_TO_VIDEO,
            prompt=f"Version {number}: make it a little warmer. Keep everything else the same.",
            aspect_ratio="16:9",
            resolution="720p",
            duration_seconds=5,
            engine="local",
            status=statuses[number % len(statuses)],
            progress=0.5,
            author=user,
        )
        previous.append(version)
    project.last_version_number = size
    project.save()
    return project


def main() -> None:
    # Keep one connection across requests, as the test client does, so the
    # queries of a request can be counted.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", password="bench-password-42")
    client = Client()
    client.force_login(user)
    print(f"database: {connection.vendor}; best of {REPEATS} renders of the project page")
    print(f"{'versions':>9} {'queries':>8} {'render (ms)':>12}")
    for size in SIZES:
        project = build(size, user)
        url = project.get_absolute_url()
        client.get(url)  # warm caches
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, response.status_code
        # Read now: the next request resets the connection's query log.
        query_count = len(queries.captured_queries)
        best = float("inf")
        for _ in range(REPEATS):
            started = time.perf_counter()
            client.get(url)
            best = min(best, time.perf_counter() - started)
        print(f"{size:>9} {query_count:>8} {best * 1000:>12.1f}")
    print(f"(DEBUG={settings.DEBUG})")


if __name__ == "__main__":
    main()
