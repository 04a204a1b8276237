"""Housekeeping: what keeps the studio tidy and recovering however its
processes die.

Every task worker process (``manage.py db_worker`` and the worker inside
``manage.py studio``) runs a :class:`HousekeepingThread`: it writes the
process's heartbeat and runs each job when it is due. The schedule lives in
``HousekeepingRun`` rows, so whichever worker moves a job's next run forward
first runs it, and a killed worker cannot switch anything off: the others
carry on, and so does its replacement. ``manage.py housekeeping`` runs the
jobs by hand (``--dry-run`` shows what they would do).

Nothing younger than a safety margin is touched: a file a worker is still
writing, a task a slow worker is still running.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.models import Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import (
    Asset,
    HousekeepingRun,
    IdempotencyRecord,
    Presence,
    SequenceRender,
    Version,
    WorkerHeartbeat,
)
from projects.services import webhooks
from projects.services.broadcast import PRESENCE_TIMEOUT
from projects.services.notifications import digests_send
from projects.services.replays import replays_resume, replays_stuck
from projects.services.sequence_rendering import renders_resumable, renders_resume
from projects.services.storage import media_storage
from projects.services.sweeper import resumable_versions, versions_sweep
from projects.services.throttle import quota_uses_prune

logger = logging.getLogger(__name__)

# Folders the studio and its local engine make for one piece of work; a
# process that dies mid-work leaves them behind.
TEMP_PREFIXES = (
    "studio-save-",
    "studio-inputs-",
    "studio-import-",
    "studio-sequence-",
    "omni-local-",
)
# Where the studio's media live in storage (the models' upload_to).
MEDIA_FOLDERS = ("assets", "versions", "sequences")
LOST_WORKER = "projects.services.housekeeping.WorkerLost"


@dataclass
class JobReport:
    job: str
    count: int = 0
    # What was (or, in a dry run, would be) done, one line per thing.
    lines: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def summary(self) -> str:
        verb = "would handle" if self.dry_run else "handled"
        return f"{self.job}: {verb} {self.count}"


@dataclass(frozen=True)
class Job:
    name: str
    every: Callable[[], float]  # seconds between runs, read from settings
    run: Callable[[bool], JobReport]  # dry_run -> report


# The jobs.


def versions_resume(dry_run: bool) -> JobReport:
    """Versions whose worker died carry on (the sweeper's rule)."""
    report = JobReport("resume", dry_run=dry_run)
    if dry_run:
        ids = list(resumable_versions())
        report.count = len(ids)
        report.lines = [f"would resume version {pk}" for pk in ids]
    else:
        report.count = versions_sweep()
    return report


def deliveries_resume(dry_run: bool) -> JobReport:
    """Webhook deliveries whose task was lost (a process died before
    enqueueing it, or mid-attempt) are enqueued again."""
    report = JobReport("webhooks", dry_run=dry_run)
    ids = webhooks.deliveries_resume(dry_run=dry_run)
    report.count = len(ids)
    report.lines = [f"delivery {pk}" for pk in ids]
    return report


def tasks_reclaim(dry_run: bool) -> JobReport:
    """Task rows left RUNNING by a worker that is no longer alive are marked
    failed (django-tasks-db never does), so they stop looking busy and can
    be pruned; the versions they were advancing are resumed by ``resume``."""
    report = JobReport("reclaim", dry_run=dry_run)
    now = timezone.now()
    dead_after = _dead_after()
    alive = set(
        WorkerHeartbeat.objects.filter(seen_at__gte=now - dead_after).values_list(
            "worker_id", flat=True
        )
    )
    stale = DBTaskResult.objects.running().filter(started_at__lt=now - dead_after)
    for row in stale.only("id", "worker_ids", "task_path"):
        worker = row.worker_ids[-1] if row.worker_ids else ""
        if worker in alive:
            continue
        report.count += 1
        report.lines.append(f"task {row.id} ({row.task_path}) of worker {worker or '?'}")
        if not dry_run:
            DBTaskResult.objects.filter(pk=row.pk, status="RUNNING").update(
                status="FAILED",
                finished_at=now,
                exception_class_path=LOST_WORKER,
                traceback=f"Worker {worker or '?'} stopped without finishing this task.",
            )
    # Heartbeats of workers gone for a day are history.
    gone = WorkerHeartbeat.objects.filter(seen_at__lt=now - timedelta(days=1))
    if not dry_run:
        gone.delete()
    return report


def records_prune(dry_run: bool) -> JobReport:
    """Finished task rows and idempotency records older than the retention,
    stale quota uses, and webhook deliveries past their log's retention."""
    report = JobReport("prune", dry_run=dry_run)
    before = timezone.now() - timedelta(days=settings.STUDIO_TASK_RETENTION_DAYS)
    for label, rows in (
        ("task results", DBTaskResult.objects.finished().filter(finished_at__lt=before)),
        ("idempotency records", IdempotencyRecord.objects.filter(created_at__lt=before)),
    ):
        count = rows.count() if dry_run else rows.delete()[1].get(rows.model._meta.label, 0)
        report.count += count
        report.lines.append(f"{count} {label} older than {before:%Y-%m-%d %H:%M}")
    # No quota counts a use from before yesterday.
    stale = timezone.now() - timedelta(days=2)
    count = quota_uses_prune(before=stale, dry_run=dry_run)
    report.count += count
    report.lines.append(f"{count} quota uses older than {stale:%Y-%m-%d %H:%M}")
    logged = timezone.now() - timedelta(days=settings.STUDIO_WEBHOOKS_LOG_DAYS)
    count = webhooks.deliveries_prune(before=logged, dry_run=dry_run)
    report.count += count
    report.lines.append(f"{count} webhook deliveries older than {logged:%Y-%m-%d %H:%M}")
    return report


def presence_prune(dry_run: bool) -> JobReport:
    """Presence rows no server has refreshed: their server died."""
    report = JobReport("presence", dry_run=dry_run)
    rows = Presence.objects.filter(seen_at__lt=timezone.now() - PRESENCE_TIMEOUT)
    report.count = rows.count() if dry_run else rows.delete()[0]
    return report


def replays_move_on(dry_run: bool) -> JobReport:
    """Replays whose step finished without moving them on (a worker died
    between the two)."""
    report = JobReport("replays", dry_run=dry_run)
    if dry_run:
        report.lines = [f"would move on replay {pk}" for pk in replays_stuck()]
    else:
        report.lines = [f"moved on replay {pk}" for pk in replays_resume()]
    report.count = len(report.lines)
    return report


def sequence_renders_resume(dry_run: bool) -> JobReport:
    """Sequence renders whose worker died, or whose task was lost."""
    report = JobReport("sequences", dry_run=dry_run)
    ids = renders_resumable() if dry_run else renders_resume()
    report.count = len(ids)
    report.lines = [f"render {pk}" for pk in ids]
    return report


def digests_mail(dry_run: bool) -> JobReport:
    """Notification digests that are due (each member chose hourly or daily)."""
    report = JobReport("digest", dry_run=dry_run)
    mailed = digests_send(dry_run=dry_run)
    report.count = len(mailed)
    report.lines += [f"digest to {email}" for email in mailed]
    return report


def temp_folders_prune(dry_run: bool) -> JobReport:
    """Work folders of processes that died mid-work, untouched for longer
    than the margin."""
    report = JobReport("temp", dry_run=dry_run)
    margin = time.time() - settings.STUDIO_HOUSEKEEPING_TEMP_MARGIN_SECONDS
    root = Path(tempfile.gettempdir())
    for folder in _temp_folders(root):
        if _newest_mtime(folder) >= margin:
            continue
        report.count += 1
        report.lines.append(str(folder))
        if not dry_run:
            shutil.rmtree(folder, ignore_errors=True)
    return report


def orphans_prune(dry_run: bool) -> JobReport:
    """Media files no row references (a crash between storing a file and
    saving its row, a delete whose file removal failed), older than the margin."""
    report = JobReport("orphans", dry_run=dry_run)
    storage = media_storage()
    referenced = _referenced_names()
    before = timezone.now() - timedelta(hours=settings.STUDIO_ORPHAN_MARGIN_HOURS)
    for name in _stored_names(storage):
        if name in referenced:
            continue
        try:
            modified = storage.get_modified_time(name)
        except (OSError, NotImplementedError):
            continue
        if timezone.is_naive(modified):
            modified = timezone.make_aware(modified)
        if modified >= before:
            continue
        report.count += 1
        report.lines.append(name)
        if not dry_run:
            storage.delete(name)
    return report


JOBS: tuple[Job, ...] = (
    Job("resume", lambda: settings.STUDIO_SWEEP_SECONDS, versions_resume),
    Job("reclaim", lambda: settings.STUDIO_HOUSEKEEPING_RECLAIM_SECONDS, tasks_reclaim),
    Job("presence", lambda: settings.STUDIO_HOUSEKEEPING_RECLAIM_SECONDS, presence_prune),
    Job("webhooks", lambda: settings.STUDIO_HOUSEKEEPING_RECLAIM_SECONDS, deliveries_resume),
    Job("prune", lambda: settings.STUDIO_HOUSEKEEPING_PRUNE_SECONDS, records_prune),
    Job("temp", lambda: settings.STUDIO_HOUSEKEEPING_PRUNE_SECONDS, temp_folders_prune),
    Job("orphans", lambda: settings.STUDIO_HOUSEKEEPING_ORPHANS_SECONDS, orphans_prune),
    Job("replays", lambda: settings.STUDIO_SWEEP_SECONDS, replays_move_on),
    Job("sequences", lambda: settings.STUDIO_SWEEP_SECONDS, sequence_renders_resume),
    Job("digest", lambda: settings.STUDIO_DIGEST_CHECK_SECONDS, digests_mail),
)
JOB_NAMES = tuple(job.name for job in JOBS)


# Running them.


def housekeeping_run(*, dry_run: bool = False, only: tuple[str, ...] = ()) -> list[JobReport]:
    """Every job (or the ones named) now, whatever the schedule."""
    return [job.run(dry_run) for job in JOBS if not only or job.name in only]


def housekeeping_due(*, worker_id: str) -> list[JobReport]:
    """The jobs due now that this worker won the turn for."""
    now = timezone.now()
    _ensure_schedule(now)
    reports = []
    for job in JOBS:
        won = HousekeepingRun.objects.filter(job=job.name, next_run_at__lte=now).update(
            next_run_at=now + timedelta(seconds=job.every()), last_worker_id=worker_id
        )
        if not won:
            continue
        try:
            report = job.run(False)
        except Exception:
            logger.exception("Housekeeping job %s failed", job.name)
            continue
        HousekeepingRun.objects.filter(job=job.name).update(
            last_run_at=timezone.now(), last_summary=report.summary[:500]
        )
        if report.count:
            logger.info("Housekeeping %s", report.summary)
        reports.append(report)
    return reports


def heartbeat_write(*, worker_id: str) -> None:
    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={
            "seen_at": timezone.now(),
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )


class HousekeepingThread(threading.Thread):
    """A worker process's heartbeat and its share of the housekeeping."""

    def __init__(self, *, worker_id: str) -> None:
        super().__init__(name="studio-housekeeping", daemon=True)
        self.worker_id = worker_id
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                heartbeat_write(worker_id=self.worker_id)
                housekeeping_due(worker_id=self.worker_id)
            except Exception:
                # The database is away: try again at the next tick.
                logger.warning("Housekeeping could not run", exc_info=True)
            finally:
                connections.close_all()
            self.stopping.wait(settings.STUDIO_HOUSEKEEPING_SECONDS)

    def stop(self) -> None:
        self.stopping.set()


# Helpers.


def _dead_after() -> timedelta:
    return timedelta(seconds=3 * settings.STUDIO_HOUSEKEEPING_SECONDS)


def _ensure_schedule(now: datetime) -> None:
    known = set(HousekeepingRun.objects.values_list("job", flat=True))
    missing = [
        HousekeepingRun(job=name, next_run_at=now) for name in JOB_NAMES if name not in known
    ]
    if missing:
        # Another worker may make them at the same moment.
        HousekeepingRun.objects.bulk_create(missing, ignore_conflicts=True)


def _temp_folders(root: Path) -> Iterator[Path]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        if entry.name.startswith(TEMP_PREFIXES) and entry.is_dir(follow_symlinks=False):
            yield Path(entry.path)


def _newest_mtime(folder: Path) -> float:
    newest = folder.lstat().st_mtime
    for path in folder.rglob("*"):
        try:
            newest = max(newest, path.lstat().st_mtime)
        except OSError:
            continue
    return newest


def _referenced_names() -> set[str]:
    names = set(Asset.objects.exclude(file="").values_list("file", flat=True))
    for video, poster in Version.objects.filter(~Q(video="") | ~Q(poster="")).values_list(
        "video", "poster"
    ):
        names.update(n for n in (video, poster) if n)
    names.update(SequenceRender.objects.exclude(video="").values_list("video", flat=True))
    return names


def _stored_names(storage) -> Iterator[str]:
    pending = list(MEDIA_FOLDERS)
    while pending:
        folder = pending.pop()
        try:
            folders, files = storage.listdir(folder)
        except (FileNotFoundError, NotADirectoryError):
            continue
        pending.extend(f"{folder}/{name}" for name in folders)
        yield from (f"{folder}/{name}" for name in files)
