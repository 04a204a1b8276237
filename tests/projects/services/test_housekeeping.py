import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import (
    HousekeepingRun,
    IdempotencyRecord,
    Membership,
    Presence,
    Version,
    WorkerHeartbeat,
)
from projects.services import housekeeping, notifications, review
from projects.services.storage import media_storage
from tests.factories import MembershipFactory, VersionFactory

LONG_AGO = timezone.now() - timedelta(days=30)


def task_row(*, status: str, worker: str = "", started: timedelta = timedelta(hours=1)):
    now = timezone.now()
    return DBTaskResult.objects.create(
        status=status,
        task_path="projects.tasks.advance_generation",
        args_kwargs={"args": [1], "kwargs": {}},
        backend_name="default",
        queue_name="default",
        run_after=now,
        started_at=now - started,
        finished_at=None if status == "RUNNING" else now - started,
        worker_ids=[worker] if worker else [],
        exception_class_path="",
        traceback="",
    )


def test_a_dead_workers_running_task_is_failed_and_a_live_ones_is_not(db):
    WorkerHeartbeat.objects.create(worker_id="alive", seen_at=timezone.now())
    WorkerHeartbeat.objects.create(worker_id="dead", seen_at=LONG_AGO)
    orphaned = task_row(status="RUNNING", worker="dead")
    busy = task_row(status="RUNNING", worker="alive")
    just_started = task_row(status="RUNNING", worker="unknown", started=timedelta(seconds=1))

    looked = housekeeping.tasks_reclaim(dry_run=True)
    assert looked.count == 1 and str(orphaned.pk) in looked.lines[0]
    assert DBTaskResult.objects.get(pk=orphaned.pk).status == "RUNNING"

    assert housekeeping.tasks_reclaim(dry_run=False).count == 1
    orphaned.refresh_from_db()
    assert orphaned.status == "FAILED" and orphaned.finished_at is not None
    assert orphaned.exception_class_path == housekeeping.LOST_WORKER
    assert "dead" in orphaned.traceback
    assert DBTaskResult.objects.get(pk=busy.pk).status == "RUNNING"
    assert DBTaskResult.objects.get(pk=just_started.pk).status == "RUNNING"
    # A heartbeat a day old is history.
    assert not WorkerHeartbeat.objects.filter(worker_id="dead").exists()


def test_old_task_results_and_idempotency_records_are_pruned(db, member):
    old = task_row(status="SUCCESSFUL", started=timedelta(days=8))
    failed_old = task_row(status="FAILED", started=timedelta(days=9))
    recent = task_row(status="SUCCESSFUL", started=timedelta(days=1))
    still_running = task_row(status="RUNNING", started=timedelta(days=8))
    kept_record = IdempotencyRecord.objects.create(
        user=member.user, key="new", fingerprint="f", response_status=201
    )
    old_record = IdempotencyRecord.objects.create(
        user=member.user, key="old", fingerprint="f", response_status=201
    )
    IdempotencyRecord.objects.filter(pk=old_record.pk).update(created_at=LONG_AGO)

    assert housekeeping.records_prune(dry_run=True).count == 3
    assert DBTaskResult.objects.count() == 4
    assert housekeeping.records_prune(dry_run=False).count == 3
    assert set(DBTaskResult.objects.values_list("pk", flat=True)) == {recent.pk, still_running.pk}
    assert not DBTaskResult.objects.filter(pk__in=[old.pk, failed_old.pk]).exists()
    assert list(IdempotencyRecord.objects.values_list("pk", flat=True)) == [kept_record.pk]


def test_presence_of_a_dead_server_is_removed(project, member):
    fresh = Presence.objects.create(
        project=project, user=member.user, channel_name="alive:1:1", seen_at=timezone.now()
    )
    Presence.objects.create(
        project=project, user=member.user, channel_name="dead:1:1", seen_at=LONG_AGO
    )
    assert housekeeping.presence_prune(dry_run=True).count == 1
    assert Presence.objects.count() == 2
    assert housekeeping.presence_prune(dry_run=False).count == 1
    assert list(Presence.objects.all()) == [fresh]


@pytest.fixture
def temp_folders():
    made = []

    def make(prefix: str, *, age_seconds: float) -> Path:
        folder = Path(tempfile.mkdtemp(prefix=f"{prefix}test-{uuid.uuid4().hex[:6]}-"))
        (folder / "part.mp4").write_bytes(b"x" * 10)
        then = time.time() - age_seconds
        for path in (folder / "part.mp4", folder):
            os.utime(path, (then, then))
        made.append(folder)
        return folder

    yield make
    for folder in made:
        if folder.exists():
            for path in folder.iterdir():
                path.unlink()
            folder.rmdir()


def test_work_folders_of_dead_processes_go_and_fresh_ones_stay(db, settings, temp_folders):
    settings.STUDIO_HOUSEKEEPING_TEMP_MARGIN_SECONDS = 3600
    abandoned = [temp_folders(p, age_seconds=7200) for p in housekeeping.TEMP_PREFIXES]
    in_use = temp_folders("studio-save-", age_seconds=60)
    not_ours = temp_folders("someone-else-", age_seconds=7200)
    # A folder whose newest file is fresh is still being written.
    writing = temp_folders("omni-local-", age_seconds=7200)
    os.utime(writing / "part.mp4")

    looked = housekeeping.temp_folders_prune(dry_run=True)
    assert set(map(str, abandoned)) <= set(looked.lines)
    assert all(folder.exists() for folder in abandoned)

    housekeeping.temp_folders_prune(dry_run=False)
    assert not any(folder.exists() for folder in abandoned)
    assert in_use.exists() and not_ours.exists() and writing.exists()


def test_only_old_unreferenced_media_files_are_deleted(project, settings):
    settings.STUDIO_ORPHAN_MARGIN_HOURS = 24
    storage = media_storage()
    kept_video = storage.save("versions/2026/11/kept.mp4", ContentFile(b"video"))
    kept_poster = storage.save("versions/2026/11/kept.jpg", ContentFile(b"poster"))
    VersionFactory(
        project=project, status=Version.Status.READY, video=kept_video, poster=kept_poster
    )
    orphan = storage.save("versions/2026/11/orphan.mp4", ContentFile(b"lost"))
    young_orphan = storage.save("assets/2026/12/just-stored.png", ContentFile(b"new"))
    then = time.time() - 2 * 86400
    for name in (kept_video, kept_poster, orphan):
        os.utime(storage.path(name), (then, then))

    looked = housekeeping.orphans_prune(dry_run=True)
    assert looked.lines == [orphan]
    assert storage.exists(orphan)

    assert housekeeping.orphans_prune(dry_run=False).count == 1
    assert not storage.exists(orphan)
    assert all(storage.exists(n) for n in (kept_video, kept_poster, young_orphan))


def test_orphans_in_a_bucket_are_found_the_same_way(project, s3_storage, settings):
    settings.STUDIO_ORPHAN_MARGIN_HOURS = 0
    storage = media_storage()
    kept = storage.save("versions/2026/11/kept.mp4", ContentFile(b"video"))
    VersionFactory(project=project, status=Version.Status.READY, video=kept)
    orphan = storage.save("versions/2026/11/orphan.mp4", ContentFile(b"lost"))

    assert housekeeping.orphans_prune(dry_run=False).lines == [orphan]
    assert storage.exists(kept) and not storage.exists(orphan)


def test_each_job_runs_once_per_period_whichever_worker_asks(db, settings):
    settings.STUDIO_SWEEP_SECONDS = 3600
    first = housekeeping.housekeeping_due(worker_id="a")
    assert [r.job for r in first] == list(housekeeping.JOB_NAMES)
    assert housekeeping.housekeeping_due(worker_id="b") == []
    run = HousekeepingRun.objects.get(job="resume")
    assert run.last_worker_id == "a" and run.last_run_at is not None
    # Due again: the next worker to look runs it.
    HousekeepingRun.objects.filter(job="resume").update(next_run_at=timezone.now())
    assert [r.job for r in housekeeping.housekeeping_due(worker_id="b")] == ["resume"]


def test_the_resume_job_re_enqueues_a_version_whose_worker_died(project):
    version = VersionFactory(
        project=project,
        status=Version.Status.GENERATING,
        lease_until=timezone.now() - timedelta(seconds=5),
    )
    assert housekeeping.versions_resume(dry_run=True).lines == [
        f"would resume version {version.pk}"
    ]
    assert not DBTaskResult.objects.exists()
    assert housekeeping.versions_resume(dry_run=False).count == 1
    row = DBTaskResult.objects.get()
    assert row.task_path == "projects.tasks.advance_generation"
    assert row.args_kwargs["args"] == [version.pk]
    # While that task waits for a worker, the next sweeps add nothing.
    assert housekeeping.versions_resume(dry_run=False).count == 0
    assert DBTaskResult.objects.count() == 1


def test_the_command_shows_first_then_acts(db, capsys):
    WorkerHeartbeat.objects.create(worker_id="dead", seen_at=LONG_AGO)
    orphaned = task_row(status="RUNNING", worker="dead")
    call_command("housekeeping", "--dry-run", "--job", "reclaim")
    out = capsys.readouterr().out
    assert "reclaim: would handle 1" in out and str(orphaned.pk) in out
    assert DBTaskResult.objects.get(pk=orphaned.pk).status == "RUNNING"
    call_command("housekeeping", "--job", "reclaim")
    assert "reclaim: handled 1" in capsys.readouterr().out
    assert DBTaskResult.objects.get(pk=orphaned.pk).status == "FAILED"


def test_the_digest_job_mails_whoever_is_due(project, member):
    member.user.email = "ada@example.com"
    member.user.save()
    other = MembershipFactory(workspace=member.workspace, role=Membership.Role.REVIEWER)
    version = VersionFactory(
        project=project, author=member.user, status=Version.Status.READY, video_duration=3.0
    )
    notifications.inbox_settings_update(user=member.user, email_digest="daily")
    review.comment_create(
        version=version, membership=other, body=f"@{member.user.username} see the end"
    )
    assert housekeeping.digests_mail(dry_run=True).lines == ["digest to ada@example.com"]
    assert mail.outbox == []
    assert housekeeping.housekeeping_run(only=("digest",))[0].count == 1
    assert [m.to for m in mail.outbox] == [["ada@example.com"]]
    assert housekeeping.housekeeping_run(only=("digest",))[0].count == 0
