"""A generation's life, in one place (DESIGN.md, "A generation's life").

    queued -> submitting -> generating -> saving -> ready
       |          |              |           |
       +----------+--------------+-----------+--> failed | blocked | cancelled
                  +--> reconcile (crashed between paying and recording the id)

The Version row is the truth; the queue only wakes workers. Every state
change is a conditional write through ``leases.version_write``; what the
engine is given is built in ``engine_requests``; people's decisions (cancel,
retry, submit again) are in ``decisions``.
"""

from __future__ import annotations

import logging
import random
import shutil
import tempfile
from contextlib import suppress
from datetime import timedelta
from pathlib import Path

import av
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from projects.models import Asset, Version
from projects.services.broadcast import record_event
from projects.services.budgets import billed_cost
from projects.services.engine_requests import LeaseKeeper, ProgressReporter, generation_request
from projects.services.engines import get_engine
from projects.services.leases import (
    LeaseLost,
    WorkerStopping,
    version_claim,
    version_write,
)
from projects.services.progress import typical_seconds
from projects.services.queue import enqueue_generation
from projects.services.storage import delete_files, local_copy, store_bytes, store_file
from projects.services.throttle import (
    QUOTA_EXHAUSTED,
    QUOTA_WAIT,
    QuotaExhausted,
    QuotaWait,
    quota_check,
    throttle_engine,
    throttle_until,
)
from studio.engines.base import (
    Engine,
    EngineError,
    ErrorKind,
    PollState,
    Submission,
    SubmissionUncertain,
    Usage,
    VideoOutput,
)
from studio.engines.video import (
    VideoError,
    VideoInfo,
    poster_jpeg,
    probe_video,
    reframe,
    splice_section,
    transcode_to_mp4,
)
from studio.engines.video.joins import stitch_continuation

logger = logging.getLogger(__name__)


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
        enqueue_generation(version.pk, run_after=wake_at, submit=True)
        return
    try:
        # A look before preparing (uploads are slow); the paid call's mark
        # takes the use itself.
        quota_check(engine=version.engine)
    except (QuotaWait, QuotaExhausted) as over:
        _over_quota(version, over, expect=Version.Status.QUEUED)
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
        with generation_request(version, submitting=True) as request:
            submission = engine.submit(request)
    except SubmissionUncertain as error:
        _needs_decision(
            version,
            "We could not tell whether the engine accepted this generation "
            f"({error}). Submitting again could be charged twice: choose below.",
        )
        return
    except (QuotaWait, QuotaExhausted) as over:
        _over_quota(version, over, expect=Version.Status.SUBMITTING)
        return
    except EngineError as error:
        if error.kind == ErrorKind.RATE_LIMITED:
            throttle_engine(engine=version.engine, retry_after=error.retry_after)
        _engine_failed(version, error, expect=Version.Status.SUBMITTING)
        return
    _submitted(version, engine, submission)
    _poll(version, engine)


def _over_quota(version: Version, over: QuotaWait | QuotaExhausted, *, expect: str) -> None:
    """Before the paid call: wait in the queue for the minute's quota (not in
    a worker), or fail for the day's, saying when it resets."""
    if isinstance(over, QuotaWait):
        # Spread the wake-ups so the waiting versions do not all call at once.
        wake_at = over.until + timedelta(seconds=random.uniform(0, 0.5))
        version_write(
            version,
            expect=expect,
            status=Version.Status.QUEUED,
            lease_until=None,
            retry_at=wake_at,
            error_kind=QUOTA_WAIT,
            error_message=over.message,
        )
        enqueue_generation(version.pk, run_after=wake_at, submit=True)
        return
    version_write(
        version,
        expect=expect,
        status=Version.Status.FAILED,
        lease_until=None,
        retry_at=None,
        error_kind=QUOTA_EXHAUSTED,
        error_message=over.message,
        finished_at=timezone.now(),
    )


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
        if kind not in {"version", "asset"}:
            continue  # a section made for this edit alone is not worth keeping
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


def _poll(version: Version, engine: Engine) -> None:
    try:
        files = engine.capabilities().polls_with_files
        with generation_request(version, files=files) as request:
            result = engine.poll(
                version.interaction_id, request, progress=ProgressReporter(version)
            )
    except EngineError as error:
        _engine_failed(version, error, expect=version.status)
        return
    if result.state != PollState.COMPLETED:
        if result.fraction == version.progress and not version.transient_failures:
            # Nothing to tell anyone: hand the version back without an event,
            # which would bump the project's sequence for every open page.
            released = Version.objects.filter(
                pk=version.pk, fence=version.fence, status=Version.Status.GENERATING
            ).update(lease_until=None)
            if not released:
                raise LeaseLost(f"v{version.number} is no longer ours to write")
        else:
            # A poll answered again: the page stops saying the API was busy.
            recovered = (
                {"error_kind": "", "error_message": "", "retry_at": None}
                if version.transient_failures
                else {}
            )
            version_write(
                version,
                expect=Version.Status.GENERATING,
                event="progress",
                progress=result.fraction,
                lease_until=None,
                transient_failures=0,
                **recovered,
            )
        run_after = timezone.now() + timedelta(seconds=_next_poll_in(version))
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


def _next_poll_in(version: Version) -> float:
    """Seconds until the next poll: half the time such generations still
    typically need, so a worker polls seldom while the model surely works and
    often once it may be done; never sooner than STUDIO_POLL_SECONDS, never
    later than STUDIO_POLL_MAX_SECONDS."""
    every = settings.STUDIO_POLL_SECONDS
    typical = typical_seconds(version)
    if not typical or version.submitted_at is None:
        return every
    left = typical - (timezone.now() - version.submitted_at).total_seconds()
    return min(max(every, left / 2), max(every, settings.STUDIO_POLL_MAX_SECONDS))


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
        # Billed for what the engine made, before a section is put back.
        fetched_info = None
        with suppress(VideoError):
            fetched_info = probe_video(fetched)
        billed_seconds = fetched_info.duration_seconds if fetched_info else None
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
        if version.section_start is not None:
            parent = Version.objects.only("pk", "video").get(pk=version.parent_id)
            whole = workdir / "whole.mp4"
            try:
                splice_section(
                    local_copy(parent.video, workdir), final, whole, start=version.section_start
                )
            except VideoError as error:
                unreadable = EngineError(
                    ErrorKind.UNAVAILABLE, f"The edited section could not be put back: {error}"
                )
                _engine_failed(version, unreadable, expect=Version.Status.SAVING)
                return
            final = whole
        if version.kind == Version.Kind.EXTEND:
            stitched = _stitched(version, final, workdir)
            if stitched is None:
                return
            final = stitched
        _store_video(
            version,
            final,
            usage=usage,
            billed_seconds=billed_seconds,
            info=fetched_info if final == fetched else None,
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _stitched(version: Version, continuation: Path, workdir: Path) -> Path | None:
    """The parent's video followed by the continuation the engine made
    (None when it could not be joined: the version has failed)."""
    parent = Version.objects.only("pk", "video").get(pk=version.parent_id)
    whole = workdir / "extended.mp4"
    keeper = LeaseKeeper(version, status=Version.Status.SAVING)
    try:
        stitch_continuation(
            local_copy(parent.video, workdir), continuation, whole, progress=lambda _: keeper()
        )
    except VideoError as error:
        unreadable = EngineError(
            ErrorKind.UNAVAILABLE, f"The continuation could not be joined to the video: {error}"
        )
        _engine_failed(version, unreadable, expect=Version.Status.SAVING)
        return None
    return whole


def _store_video(
    version: Version,
    final: Path,
    *,
    usage: Usage | None,
    billed_seconds: float | None,
    info: VideoInfo | None = None,
) -> None:
    """Probe the finished MP4, keep it and its poster in our storage and mark
    the version ready; if this worker lost the version meanwhile, nothing
    it stored is kept."""
    saved: list[str] = []
    try:
        try:
            info = info or probe_video(final)
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
            fps=round(float(info.fps), 3),
            video_bytes=Path(final).stat().st_size,
            has_audio=info.has_audio,
            progress=1.0 if version.progress is not None else None,
            cost=billed_cost(
                engine=version.engine,
                resolution=version.resolution,
                seconds=info.duration_seconds if billed_seconds is None else billed_seconds,
                fps=version.fps,
            ),
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
                local_copy(asset.file, workdir), normalised, progress=ProgressReporter(version)
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
        _store_video(version, normalised, usage=None, billed_seconds=None)
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
        enqueue_generation(version.pk, run_after=retry_at, submit=status == Version.Status.QUEUED)
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
