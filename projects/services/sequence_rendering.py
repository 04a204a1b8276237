"""Making a sequence's render, in a worker: claimed with a lease and a
fence (as versions are), so two workers never both render it and a stale
worker's writes change nothing; its clips copied out of storage,
composited by the studio's video code, and stored. A render whose worker
died (its lease ran out) or whose task was lost is resumed by housekeeping;
one stopped with the studio resumes on the next start."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from fractions import Fraction
from pathlib import Path

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from projects.models import SequenceRender, Version
from projects.services.broadcast import sequence_changed
from projects.services.leases import LeaseLost, WorkerStopping, lease_until, shutdown_requested
from projects.services.queue import RENDER_SEQUENCE, enqueue
from projects.services.storage import delete_files, local_copy, store_file
from studio.engines.video import VideoError
from studio.engines.video.joins import SequencePart, compose_sequence

UNFINISHED = [SequenceRender.Status.QUEUED, SequenceRender.Status.RENDERING]


def render_parts(snapshot: list[dict], *, paths: list) -> list[SequencePart]:
    """What the compositing is given for a snapshot's clips."""
    return [
        SequencePart(
            path=path,
            start=clip["in"],
            end=clip["out"],
            crossfade_seconds=clip["transition_seconds"],
        )
        for clip, path in zip(snapshot, paths, strict=True)
    ]


def render_claim(*, render_id: int) -> SequenceRender | None:
    """Take the render for this worker, unless another holds its lease."""
    claimed = (
        SequenceRender.objects.filter(pk=render_id, status__in=UNFINISHED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now()))
        .update(
            status=SequenceRender.Status.RENDERING,
            progress=0.0,
            fence=F("fence") + 1,
            lease_until=lease_until(),
        )
    )
    if not claimed:
        return None
    render = SequenceRender.objects.select_related("sequence").get(pk=render_id)
    _told(render)
    return render


def _told(render: SequenceRender) -> None:
    sequence_changed(project_id=render.sequence.project_id, sequence_id=render.sequence_id)


def _write(render: SequenceRender, **fields) -> None:
    """Change the render if this worker still holds it."""
    fields.setdefault("lease_until", lease_until())
    changed = SequenceRender.objects.filter(
        pk=render.pk, fence=render.fence, status=SequenceRender.Status.RENDERING
    ).update(**fields)
    if not changed:
        raise LeaseLost(f"{render.label} is no longer ours to write")
    _told(render)


def render_run(*, render_id: int) -> SequenceRender | None:
    """Make the render: ready with its MP4, or failed with the reason."""
    render = render_claim(render_id=render_id)
    if render is None:
        return None
    workdir = Path(tempfile.mkdtemp(prefix="studio-sequence-"))
    stored = ""
    try:
        out = workdir / "sequence.mp4"
        info = compose_sequence(
            render_parts(render.clips, paths=_local_clips(render, workdir)),
            out,
            width=render.width,
            height=render.height,
            fps=Fraction(render.fps),
            progress=_progress_writer(render),
        )
        sequence = render.sequence
        stored = store_file(
            f"sequences/p{sequence.project_id}/s{sequence.pk}/{render.label}.mp4", out
        )
        _write(
            render,
            status=SequenceRender.Status.READY,
            progress=1.0,
            video=stored,
            video_bytes=out.stat().st_size,
            duration_seconds=info.duration_seconds,
            finished_at=timezone.now(),
            lease_until=None,
        )
        stored = ""
    except WorkerStopping:
        # Left for the next start: housekeeping finds it without a lease.
        SequenceRender.objects.filter(pk=render.pk, fence=render.fence).update(lease_until=None)
    except LeaseLost:
        pass  # another worker has it now
    except (VideoError, OSError) as error:
        _failed(render, f"The sequence could not be rendered: {error}")
    except BaseException:
        # Not left rendering for ever; the worker logs the error.
        _failed(render, "The sequence could not be rendered: an unexpected error.")
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if stored:
            delete_files([stored])
    render.refresh_from_db()
    return render


def _local_clips(render: SequenceRender, workdir: Path) -> list[Path]:
    """A local copy of each clip's video (read through the storage API)."""
    versions = Version.objects.in_bulk([clip["version"] for clip in render.clips])
    paths = []
    for index, clip in enumerate(render.clips):
        version = versions.get(clip["version"])
        if version is None or not version.video:
            raise VideoError(f"v{clip['number']} is no longer there.")
        folder = workdir / str(index)
        folder.mkdir()
        paths.append(local_copy(version.video, folder))
    return paths


def _failed(render: SequenceRender, message: str) -> None:
    failed = SequenceRender.objects.filter(pk=render.pk, fence=render.fence).update(
        status=SequenceRender.Status.FAILED,
        error_message=message,
        finished_at=timezone.now(),
        lease_until=None,
    )
    if failed:
        _told(render)


def _progress_writer(render: SequenceRender) -> Callable[[float], None]:
    """Writes the fraction done (extending the lease) at most every
    STUDIO_PROGRESS_INTERVAL_SECONDS; stops the work when the studio is
    stopping or the render was taken over."""
    last = [0.0]

    def write(fraction: float) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        now = time.monotonic()
        if now - last[0] < settings.STUDIO_PROGRESS_INTERVAL_SECONDS and fraction < 1:
            return
        last[0] = now
        _write(render, progress=min(max(fraction, 0.0), 1.0))

    return write


def renders_resumable() -> list[int]:
    """Unfinished renders nobody holds: a worker died mid-render (its lease
    ran out), the studio stopped during one, or a queued render's task was
    lost (older than a lease, never claimed)."""
    now = timezone.now()
    return list(
        SequenceRender.objects.filter(status__in=UNFINISHED)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(created_at__lt=now - timedelta(seconds=settings.STUDIO_LEASE_SECONDS))
        .values_list("pk", flat=True)
    )


def renders_resume() -> list[int]:
    """Enqueue the resumable renders again (a duplicate finds it claimed)."""
    ids = renders_resumable()
    for render_id in ids:
        enqueue(RENDER_SEQUENCE, render_id)
    return ids
