import io

import pytest
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction
from PIL import Image

from projects.services.engines import get_engine
from tests.contract.interactions_double import GeminiDouble, interaction
from tests.factories import MembershipFactory, ProjectFactory, UserFactory
from tests.projects.webhook_receiver import hooks_allowed, receiver  # noqa: F401 (fixtures)


@pytest.fixture
def member(db):
    return MembershipFactory(role="owner")


@pytest.fixture
def user(member):
    return member.user


@pytest.fixture
def project(member):
    return ProjectFactory(workspace=member.workspace, created_by=member.user)


@pytest.fixture
def outsider(db):
    return UserFactory()


@pytest.fixture
def logged_in(client, user):
    client.force_login(user)
    return client


def run_tasks(limit: int = 200) -> None:
    """Run every ready task through the real django-tasks-db worker's
    run_task, as `manage.py db_worker --batch` would (minus its connection
    recycling, which would close the test's transaction), and fail loudly
    on a task error."""
    worker = Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    for _ in range(limit):
        with exclusive_transaction():
            task_result = DBTaskResult.objects.ready().get_locked()
            if task_result is None:
                break
            task_result.claim(worker.worker_id)
        worker.run_task(task_result)
    else:
        raise AssertionError(f"Tasks were still ready after {limit} runs: a loop?")
    failed = DBTaskResult.objects.filter(status="FAILED")
    if failed.exists():
        raise AssertionError("\n".join(f.traceback for f in failed))


@pytest.fixture
def tasks():
    return run_tasks


def image_bytes(size=(800, 600), fmt="PNG", color=(200, 80, 40), exif_orientation=None) -> bytes:
    image = Image.new("RGB", size, color)
    # A distinct square so motion and orientation are visible.
    for x in range(size[0] // 8):
        for y in range(size[1] // 8):
            image.putpixel((x, y), (20, 200, 60))
    buffer = io.BytesIO()
    if exif_orientation:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        image.save(buffer, fmt, exif=exif)
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture
def double(settings):
    server = GeminiDouble().start()
    settings.GEMINI_API_KEY = "test-key"
    settings.GEMINI_BASE_URL = server.url
    settings.GEMINI_MODEL = ""
    settings.GEMINI_TIMEOUT_SECONDS = 5
    settings.STUDIO_ENGINES = {
        "gemini": "studio.engines.gemini.engine.GeminiEngine",
        "local": "studio.engines.local.engine.LocalEngine",
    }
    settings.STUDIO_DEFAULT_ENGINE = "gemini"
    settings.STUDIO_POLL_SECONDS = 0
    get_engine.cache_clear()
    yield server
    server.stop()
    get_engine.cache_clear()


def completes(double, interaction_id: str, video: bytes, *, polls: int = 2) -> None:
    """The next create starts interaction_id; it completes after some polls."""
    url = double.serve_blob(f"/media/{interaction_id}.mp4", video)
    double.on_create(interaction(interaction_id, "queued"))
    double.script(
        interaction_id,
        *[interaction(interaction_id, "in_progress")] * polls,
        interaction(
            interaction_id,
            "completed",
            video_uri=url,
            usage={"total_input_tokens": 120, "total_output_tokens": 4000, "total_tokens": 4120},
        ),
    )
