import io

import pytest
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction
from PIL import Image

from tests.factories import MembershipFactory, ProjectFactory, UserFactory


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
