"""How the project page scales with its tree: queries, time and bytes of the
page, the version panel, compare, the polling fallback and the API's first
page of versions, for chain, wide and bushy trees (with reviews and
comments) of 10, 1,000 and 5,000 versions; and uploading a 4096×4096 still.
A benchmark, not a test.

    uv run python bench/project_page.py              # SQLite
    uv run python bench/project_page.py --postgres   # PostgreSQL: DATABASE_URL, else a
                                                     # fresh studio_bench on 127.0.0.1

BENCH_SIZES and BENCH_SHAPES narrow it (e.g. BENCH_SIZES=5000).
"""

import io
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STUDIO_VAR_DIR", tempfile.mkdtemp(prefix="studio-bench-"))
if "--postgres" in sys.argv:
    if "DATABASE_URL" not in os.environ:
        import psycopg

        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres", autocommit=True) as db:
            # A fresh database every run: the bench builds its trees from empty.
            db.execute("DROP DATABASE IF EXISTS studio_bench WITH (FORCE)")
            db.execute("CREATE DATABASE studio_bench")
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/studio_bench"
else:
    os.environ.pop("DATABASE_URL", None)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "studio.settings")

import django  # noqa: E402

django.setup()

from django.core.cache import cache  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.signals import request_finished, request_started  # noqa: E402
from django.db import close_old_connections, connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.urls import reverse  # noqa: E402
from PIL import Image  # noqa: E402

from projects.models import Membership, Project, Workspace  # noqa: E402
from projects.services import assets  # noqa: E402
from projects.services.tokens import api_token_create  # noqa: E402
from tests.projects.trees import SHAPES, build_tree  # noqa: E402

SIZES = tuple(int(s) for s in os.environ.get("BENCH_SIZES", "10,1000,5000").split(","))
SHAPE_NAMES = tuple(os.environ.get("BENCH_SHAPES", ",".join(SHAPES)).split(","))
REPEATS = 5


def endpoints(project: Project, token: str) -> dict[str, tuple[str, dict]]:
    middle = max(1, project.last_version_number // 2)
    return {
        "page": (project.get_absolute_url(), {}),
        "panel": (
            reverse("version_detail", args=[project.pk, middle]),
            {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "version-panel"},
        ),
        "compare": (reverse("compare", args=[project.pk]) + f"?a=1&b={middle}", {}),
        "polling": (
            reverse("project_updates", args=[project.pk]) + f"?since={project.event_seq - 5}",
            {},
        ),
        "api list": (
            f"/api/v1/projects/{project.pk}/versions?limit=50",
            {"HTTP_AUTHORIZATION": f"Bearer {token}"},
        ),
    }


def measure(client: Client, url: str, headers: dict) -> tuple[int, list[float], int]:
    client.get(url, **headers)  # warm: what is written once a minute
    cache.clear()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, **headers)
        body = b"".join(response.streaming_content) if response.streaming else response.content
    assert response.status_code == 200, (url, response.status_code)
    query_count = len(queries.captured_queries)
    # Timed as pages are served: progress estimates stay cached for a minute.
    times = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        response = client.get(url, **headers)
        if response.streaming:
            b"".join(response.streaming_content)
        times.append((time.perf_counter() - started) * 1000)
    return query_count, times, len(body)


def upload_still(membership: Membership) -> tuple[float, float]:
    """Seconds and added peak memory (MB) to take a 4096×4096 JPEG as an asset."""
    buffer = io.BytesIO()
    gradient = Image.linear_gradient("L").resize((4096, 4096)).convert("RGB")
    gradient.save(buffer, "JPEG", quality=90)
    content = buffer.getvalue()
    project = Project.objects.create(workspace=membership.workspace, title="upload")
    upload = SimpleUploadedFile("big.jpg", content, "image/jpeg")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    assets.asset_create_image(
        project=project, membership=membership, user=membership.user, upload=upload
    )
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return seconds, (after - before) / 1024


def main() -> None:
    setup_test_environment()
    # One connection across requests, as the test client keeps, so a
    # request's queries can be counted.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("bench", password="bench-password-42")
    workspace = Workspace.objects.create(name="bench")
    membership = Membership.objects.create(
        user=user, workspace=workspace, role=Membership.Role.OWNER
    )
    _, token = api_token_create(user=user, name="bench")
    client = Client()
    client.force_login(user)
    # The upload first, while the process is small: peak memory is a
    # high-water mark.
    upload_seconds, upload_mb = upload_still(membership)
    print(f"database: {connection.vendor}; min / median of {REPEATS} requests (ms)")
    print(
        f"{'shape':<6} {'versions':>8} {'endpoint':<9} {'queries':>7} "
        f"{'min':>7} {'median':>7} {'KB':>7}"
    )
    for shape in SHAPE_NAMES:
        for size in SIZES:
            project = build_tree(membership, shape=shape, size=size)
            for name, (url, headers) in endpoints(project, token).items():
                queries, times, size_bytes = measure(client, url, headers)
                print(
                    f"{shape:<6} {size:>8} {name:<9} {queries:>7} {min(times):>7.1f} "
                    f"{statistics.median(times):>7.1f} {size_bytes / 1024:>7.1f}"
                )
    print(f"upload of a 4096×4096 JPEG still: {upload_seconds * 1000:.0f} ms, ", end="")
    print(f"+{upload_mb:.0f} MB peak")


if __name__ == "__main__":
    main()
