"""A generation's life, in one place (DESIGN.md, "A generation's life").

    queued -> submitting -> generating -> saving -> ready
       |          |              |           |
       +----------+--------------+-----------+--> failed | blocked | cancelled
                  +--> reconcile (crashed between paying and recording the id)

The Version row is the truth; the queue only wakes workers. Every state
change is a conditional UPDATE naming the state it expects and the fence of
the worker making it, so a stale or duplicate worker changes nothing; a claim
takes a lease and bumps the fence. People's decisions (cancel, retry, submit
again) are here too, as the same conditional writes.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import datetime, timedelta
from pathlib import Path

import av
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from projects.models import Asset, Version
from projects.services.broadcast import record_event
from projects.services.engines import get_engine
from projects.services.queue import enqueue_generation
from projects.services.storage import delete_files, local_copy, store_bytes, store_file
from projects.services.throttle import throttle_engine, throttle_until
from studio.engines.base import (
    Engine,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollState,
    Submission,
    SubmissionUncertain,
    Task,
    Usage,
    VideoOutput,
)
from studio.engines.video import VideoError, poster_jpeg, probe_video, reframe, transcode_to_mp4

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """This worker no longer owns the version: it was cancelled, or another
    worker took it over. Stop without writing anything."""


class WorkerStopping(LeaseLost):
    """The process is shutting down: stop the work and let the version be
    resumed from its last safe state."""


# Set when the studio process is asked to stop (Ctrl-C): running work stops
# at its next progress report instead of being cut off mid-write.
shutdown_requested = threading.Event()


def _lease_until() -> datetime:
    return timezone.now() + timedelta(seconds=settings.STUDIO_LEASE_SECONDS)


def version_claim(*, version_id: int) -> Version | None:
    """Take the version for this worker: only one worker holds an unexpired
    lease, and taking it bumps the fence so earlier holders are shut out."""
    now = timezone.now()
    claimed = (
        Version.objects.filter(pk=version_id, status__in=Version.Status.unfinished())
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .update(fence=F("fence") + 1, lease_until=_lease_until())
    )
    if not claimed:
        return None
    return Version.objects.select_related("project__workspace").get(pk=version_id)


def version_write(version: Version, *, expect: str, event: str = "state", **fields) -> None:
    """Change the version if this worker still owns it in the expected state."""
    fields.setdefault("lease_until", _lease_until())
    fields["updated_at"] = timezone.now()
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, fence=version.fence, status=expect).update(
            **fields
        )
        if not changed:
            raise LeaseLost(f"v{version.number} is no longer ours to write")
        for name, value in fields.items():
            setattr(version, name, value)
        record_event(version, kind=event)


def generation_advance(*, version_id: int) -> None:
    """Move a version one step along its life. Safe to call any number of
    times, from any number of workers."""
    version = version_claim(version_id=version_id)
    if version is None:
        return
    if version.kind == Version.Kind.UPLOAD:
        try:
            _import_upload(version)
        except LeaseLost:
            logger.info("v%s of project %s: import stopped", version.number, version.project_id)
        return
    engine = get_engine(version.engine)
    try:
        match version.status:
            case Version.Status.QUEUED:
                _submit(version, engine)
            case Version.Status.SUBMITTING:
                _resume_submitting(version, engine)
            case Version.Status.GENERATING | Version.Status.SAVING:
                _poll(version, engine)
    except WorkerStopping:
        # Hand the version back at once so the next start resumes it.
        Version.objects.filter(pk=version.pk, fence=version.fence).update(lease_until=None)
        logger.info("v%s of project %s: stopped for shutdown", version.number, version.project_id)
    except LeaseLost:
        logger.info("v%s of project %s: lease lost, stopping", version.number, version.project_id)


def _submit(version: Version, engine: Engine) -> None:
    held_until = throttle_until(engine=version.engine)
    if held_until is not None:
        # The account was told to slow down: wait in the queue, not in a
        # worker, and spread the wake-ups so they do not all call at once.
        wake_at = held_until + timedelta(seconds=random.uniform(0, 1))
        Version.objects.filter(
            pk=version.pk, fence=version.fence, status=Version.Status.QUEUED
        ).update(lease_until=None, retry_at=wake_at)
        enqueue_generation(version.pk, run_after=wake_at)
        return
    version_write(
        version,
        expect=Version.Status.QUEUED,
        status=Version.Status.SUBMITTING,
        submitted_at=timezone.now(),
        paid_call_started_at=None,
        error_kind="",
        error_message="",
        retry_at=None,
    )
    try:
        with _generation_request(version, submitting=True) as request:
            submission = engine.submit(request)
    except SubmissionUncertain as error:
        _needs_decision(
            version,
            "We could not tell whether the engine accepted this generation "
            f"({error}). Submitting again could be charged twice: choose below.",
        )
        return
    except EngineError as error:
        if error.kind == ErrorKind.RATE_LIMITED:
            throttle_engine(engine=version.engine, retry_after=error.retry_after)
        _engine_failed(version, error, expect=Version.Status.SUBMITTING)
        return
    _submitted(version, engine, submission)
    _poll(version, engine)


def _needs_decision(version: Version, message: str) -> None:
    version_write(
        version,
        expect=Version.Status.SUBMITTING,
        status=Version.Status.RECONCILE,
        lease_until=None,
        error_kind="uncertain",
        error_message=message,
    )


def _submitted(version: Version, engine: Engine, submission: Submission) -> None:
    try:
        version_write(
            version,
            expect=Version.Status.SUBMITTING,
            status=Version.Status.GENERATING,
            interaction_id=submission.interaction_id,
            model=submission.model or version.model,
            route=submission.route,
            engine_note=submission.note,
            output_uri=submission.output.uri if submission.output else "",
            progress=0.0 if engine.capabilities().reports_percent else None,
        )
    except LeaseLost:
        _keep_paid_interaction(version, engine, submission)
        raise
    for upload in submission.uploads:
        kind, _, pk = upload.key.partition("-")
        model = Version if kind == "version" else Asset
        fields = (
            {"video_remote_uri": upload.uri, "video_remote_expires_at": upload.expires_at}
            if model is Version
            else {"remote_uri": upload.uri, "remote_expires_at": upload.expires_at}
        )
        model.objects.filter(pk=pk, project_id=version.project_id).update(**fields)


def _keep_paid_interaction(version: Version, engine: Engine, submission: Submission) -> None:
    """The paid call returned after this worker lost the version: the version
    keeps what was paid for. One still submitting, or waiting for a decision
    about this very call, takes the interaction and carries on; one cancelled
    meanwhile has it cancelled at the engine too."""
    paid = {
        "interaction_id": submission.interaction_id,
        "model": submission.model or version.model,
        "route": submission.route,
        "engine_note": submission.note,
        "output_uri": submission.output.uri if submission.output else "",
    }
    unclaimed = Version.objects.filter(pk=version.pk, interaction_id="", attempt=version.attempt)
    with transaction.atomic():
        settled = unclaimed.filter(status=Version.Status.RECONCILE).update(
            **paid,
            status=Version.Status.GENERATING,
            fence=F("fence") + 1,
            lease_until=None,
            error_kind="",
            error_message="",
            updated_at=timezone.now(),
        )
        if settled:
            version.refresh_from_db()
            enqueue_generation(version.pk)
            record_event(version, kind="state")
            return
    if unclaimed.filter(status=Version.Status.SUBMITTING).update(**paid):
        return  # whoever claims it next polls the interaction
    if unclaimed.filter(status=Version.Status.CANCELLED).update(**paid):
        with suppress(EngineError):
            engine.cancel(submission.interaction_id)
        return
    # Another attempt owns the version now: note the interaction as abandoned.
    current = Version.objects.get(pk=version.pk)
    if submission.interaction_id not in current.abandoned_interaction_ids:
        Version.objects.filter(pk=version.pk).update(
            abandoned_interaction_ids=[
                *current.abandoned_interaction_ids,
                submission.interaction_id,
            ]
        )


def _resume_submitting(version: Version, engine: Engine) -> None:
    """A worker died during submission. With the id stored, poll it; before
    the paid call's mark, nothing was charged and it is submitted again;
    between the mark and the id, nobody knows, unless the engine is free."""
    if version.interaction_id:
        version_write(version, expect=Version.Status.SUBMITTING, status=Version.Status.GENERATING)
        _poll(version, engine)
    elif version.paid_call_started_at is None or not engine.capabilities().paid:
        version_write(version, expect=Version.Status.SUBMITTING, status=Version.Status.QUEUED)
        _submit(version, engine)
    else:
        _needs_decision(
            version,
            "The studio stopped while Gemini was answering the paid request for this "
            "generation, so it may or may not have been charged, and the API offers no "
            "way to look it up. Submit again (possibly paying twice) or cancel.",
        )


class _LeaseKeeper:
    """Renews the lease while an engine prepares a submission (uploads,
    waits); raises LeaseLost, before anything else is sent, when the version
    was cancelled or taken over."""

    def __init__(self, version: Version):
        self.version = version
        self.renewed = time.monotonic()

    def __call__(self) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        now = time.monotonic()
        if now - self.renewed < settings.STUDIO_LEASE_SECONDS / 6:
            return
        self.renewed = now
        renewed = Version.objects.filter(
            pk=self.version.pk, fence=self.version.fence, status=Version.Status.SUBMITTING
        ).update(lease_until=_lease_until())
        if not renewed:
            raise LeaseLost(f"v{self.version.number} is no longer ours to submit")


class _PaidCallMark:
    """Written, and committed, immediately before the paid call: a crash
    before it resubmits by itself; only one between it and the answer needs a
    person. Refuses (LeaseLost) when this worker no longer owns the version."""

    def __init__(self, version: Version):
        self.version = version

    def __call__(self) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        marked = Version.objects.filter(
            pk=self.version.pk, fence=self.version.fence, status=Version.Status.SUBMITTING
        ).update(paid_call_started_at=timezone.now(), lease_until=_lease_until())
        if not marked:
            raise LeaseLost(f"v{self.version.number} is no longer ours to submit")


class _ProgressReporter:
    """Writes progress while an engine works, at most a few times a second,
    extending the lease; raises LeaseLost to stop the work when the version
    was cancelled or taken over."""

    def __init__(self, version: Version):
        self.version = version
        self.last_written = 0.0
        self.last_fraction = -1.0

    def __call__(self, fraction: float) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        now = time.monotonic()
        fraction = max(0.0, min(1.0, fraction))
        if now - self.last_written < settings.STUDIO_PROGRESS_INTERVAL_SECONDS and fraction < 1:
            return
        if fraction == self.last_fraction:
            return
        self.last_written, self.last_fraction = now, fraction
        version_write(self.version, expect=self.version.status, event="progress", progress=fraction)


def _poll(version: Version, engine: Engine) -> None:
    try:
        with _generation_request(version) as request:
            result = engine.poll(
                version.interaction_id, request, progress=_ProgressReporter(version)
            )
    except EngineError as error:
        _engine_failed(version, error, expect=version.status)
        return
    if result.state != PollState.COMPLETED:
        version_write(
            version,
            expect=Version.Status.GENERATING,
            event="progress",
            progress=result.fraction,
            lease_until=None,
            transient_failures=0,
        )
        run_after = timezone.now() + timedelta(seconds=settings.STUDIO_POLL_SECONDS)
        enqueue_generation(version.pk, run_after=run_after)
        return
    output = result.output or (VideoOutput(uri=version.output_uri) if version.output_uri else None)
    if output is None:
        _engine_failed(
            version,
            EngineError(ErrorKind.UNAVAILABLE, "The engine finished without a video."),
            expect=version.status,
        )
        return
    if version.status == Version.Status.GENERATING:
        version_write(
            version,
            expect=Version.Status.GENERATING,
            status=Version.Status.SAVING,
            progress=1.0 if version.progress is not None else None,
        )
    _save_output(version, engine, output, usage=result.usage)


def _save_output(version: Version, engine: Engine, output: VideoOutput, *, usage) -> None:
    """Copy the video into our own storage before calling it ready: engine
    URIs and uploads expire."""
    workdir = Path(tempfile.mkdtemp(prefix="studio-save-"))
    try:
        fetched = workdir / "fetched.mp4"
        try:
            engine.fetch_output(output, fetched)
        except EngineError as error:
            _engine_failed(version, error, expect=Version.Status.SAVING)
            return
        final = fetched
        if version.aspect_ratio in engine.capabilities().reframed_aspect_ratios:
            final = workdir / "reframed.mp4"
            try:
                reframe(fetched, final, version.aspect_ratio)
            except VideoError as error:
                unreadable = EngineError(
                    ErrorKind.UNAVAILABLE, f"The engine's video could not be reframed: {error}"
                )
                _engine_failed(version, unreadable, expect=Version.Status.SAVING)
                return
        _store_video(version, final, usage=usage)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _store_video(version: Version, final: Path, *, usage: Usage | None) -> None:
    """Probe the finished MP4, keep it and its poster in our storage and mark
    the version ready; if this worker lost the version meanwhile, nothing
    it stored is kept."""
    saved: list[str] = []
    try:
        try:
            info = probe_video(final)
            poster = poster_jpeg(final)
        except Exception as error:
            _engine_failed(
                version,
                EngineError(
                    ErrorKind.UNAVAILABLE, f"The engine's video could not be read: {error}"
                ),
                expect=Version.Status.SAVING,
            )
            return
        stem = (
            f"versions/p{version.project_id}/v{version.number}-a{version.attempt}-{version.fence}"
        )
        saved.append(store_file(f"{stem}.mp4", final))
        saved.append(store_bytes(f"{stem}.jpg", poster))
        usage_fields = {}
        if usage is not None:
            usage_fields["usage"] = {
                "input_tokens": usage.input_tokens,
                "output_tokens": usage.output_tokens,
                "total_tokens": usage.total_tokens,
            }
        version_write(
            version,
            expect=Version.Status.SAVING,
            status=Version.Status.READY,
            lease_until=None,
            video=saved[0],
            poster=saved[1],
            width=info.width,
            height=info.height,
            video_duration=info.duration_seconds,
            video_bytes=Path(final).stat().st_size,
            has_audio=info.has_audio,
            progress=1.0 if version.progress is not None else None,
            cost=version.cost_estimate,
            finished_at=timezone.now(),
            error_kind="",
            error_message="",
            retry_at=None,
            **usage_fields,
        )
        saved.clear()
    finally:
        delete_files(saved)


def _import_upload(version: Version) -> None:
    """Normalise an uploaded clip into the version's MP4 and poster."""
    if version.status == Version.Status.QUEUED:
        version_write(
            version,
            expect=Version.Status.QUEUED,
            status=Version.Status.SAVING,
            submitted_at=timezone.now(),
            progress=0.0,
        )
    asset = version.input_assets.get()
    workdir = Path(tempfile.mkdtemp(prefix="studio-import-"))
    try:
        normalised = workdir / "normalised.mp4"
        try:
            transcode_to_mp4(
                local_copy(asset.file, workdir), normalised, progress=_ProgressReporter(version)
            )
        except (VideoError, av.FFmpegError) as error:
            version_write(
                version,
                expect=Version.Status.SAVING,
                status=Version.Status.FAILED,
                lease_until=None,
                error_kind=ErrorKind.INVALID_INPUT,
                error_message=f"The clip could not be converted: {error}",
                finished_at=timezone.now(),
            )
            return
        _store_video(version, normalised, usage=None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _engine_failed(version: Version, error: EngineError, *, expect: str) -> None:
    if (
        error.kind.is_transient
        and version.transient_failures < settings.STUDIO_MAX_TRANSIENT_RETRIES
    ):
        delay = error.retry_after
        if delay is None:
            delay = min(300.0, 2.0 * 2**version.transient_failures) * random.uniform(0.5, 1.5)
        retry_at = timezone.now() + timedelta(seconds=delay)
        # Nothing was accepted when the submission itself was refused, so it
        # goes back to the queue; a poll that failed keeps its interaction.
        status = Version.Status.QUEUED if expect == Version.Status.SUBMITTING else expect
        version_write(
            version,
            expect=expect,
            status=status,
            lease_until=None,
            retry_at=retry_at,
            transient_failures=version.transient_failures + 1,
            error_kind=error.kind,
            error_message=error.message,
        )
        enqueue_generation(version.pk, run_after=retry_at)
        return
    if error.kind == ErrorKind.CANCELLED:
        status = Version.Status.CANCELLED
    elif error.kind.is_block:
        status = Version.Status.BLOCKED
    else:
        status = Version.Status.FAILED
    version_write(
        version,
        expect=expect,
        status=status,
        lease_until=None,
        retry_at=None,
        error_kind=error.kind,
        error_message=error.message,
        finished_at=timezone.now(),
    )


@contextmanager
def _generation_request(
    version: Version, *, submitting: bool = False
) -> Iterator[GenerationRequest]:
    """The engine request for a version, with its files on local disk; when
    submitting, with the hooks that hold the lease and mark the paid call."""
    with tempfile.TemporaryDirectory(prefix="studio-inputs-") as workdir:
        images, videos = [], []
        for asset in version.input_assets.all():
            media = InputMedia(
                key=f"asset-{asset.pk}",
                kind=asset.kind,
                path=local_copy(asset.file, Path(workdir)),
                mime_type=asset.mime_type,
                remote_uri=asset.remote_uri,
                remote_expires_at=asset.remote_expires_at,
            )
            (images if asset.kind == Asset.Kind.IMAGE else videos).append(media)
        parent_video = None
        if version.parent_id:
            parent = Version.objects.only(
                "pk", "video", "video_remote_uri", "video_remote_expires_at"
            ).get(pk=version.parent_id)
            if parent.video:
                parent_video = InputMedia(
                    key=f"version-{parent.pk}",
                    kind="video",
                    path=local_copy(parent.video, Path(workdir)),
                    mime_type="video/mp4",
                    remote_uri=parent.video_remote_uri,
                    remote_expires_at=parent.video_remote_expires_at,
                )
        yield GenerationRequest(
            task=Task(version.kind),
            prompt=version.prompt,
            aspect_ratio=version.aspect_ratio,
            resolution=version.resolution,
            duration_seconds=version.duration_seconds,
            model=version.model,
            images=tuple(images),
            videos=tuple(videos),
            previous_interaction_id=version.previous_interaction_id,
            parent_video=parent_video,
            **(
                {"keep_alive": _LeaseKeeper(version), "paid_call_starting": _PaidCallMark(version)}
                if submitting
                else {}
            ),
        )
