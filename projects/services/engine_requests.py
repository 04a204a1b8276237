"""What an engine is given for a version: the request, with its files on
local disk, and the hooks through which the engine's work holds the
version's lease, marks the paid call and reports progress.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from projects.models import Asset, Version
from projects.services.annotations import annotated_frame
from projects.services.engines import capabilities_of
from projects.services.leases import (
    LeaseLost,
    WorkerStopping,
    lease_until,
    shutdown_requested,
    version_write,
)
from projects.services.storage import local_copy
from projects.services.throttle import quota_take
from studio.engines.base import (
    RESOLUTION_HEIGHTS,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    Task,
)
from studio.engines.video import VideoError, clip_section, frame_image_at
from studio.engines.video.joins import last_frame_image


class LeaseKeeper:
    """Renews the lease while an engine prepares a submission (uploads,
    waits), or during another long step in ``status``; raises LeaseLost,
    before anything else is sent or written, when the version was cancelled
    or taken over."""

    def __init__(self, version: Version, *, status: str = Version.Status.SUBMITTING):
        self.version = version
        self.status = status
        self.renewed = time.monotonic()

    def __call__(self) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        now = time.monotonic()
        if now - self.renewed < settings.STUDIO_LEASE_SECONDS / 6:
            return
        self.renewed = now
        renewed = Version.objects.filter(
            pk=self.version.pk, fence=self.version.fence, status=self.status
        ).update(lease_until=lease_until())
        if not renewed:
            raise LeaseLost(f"v{self.version.number} is no longer ours to work on")


class PaidCallMark:
    """Written, and committed, immediately before the paid call: a crash
    before it resubmits by itself; only one between it and the answer needs a
    person. Refuses (LeaseLost) when this worker no longer owns the version."""

    def __init__(self, version: Version):
        self.version = version

    def __call__(self) -> None:
        if shutdown_requested.is_set():
            raise WorkerStopping("the studio is stopping")
        # Raises QuotaWait or QuotaExhausted, and nothing is sent.
        quota_take(engine=self.version.engine, version_id=self.version.pk)
        marked = Version.objects.filter(
            pk=self.version.pk, fence=self.version.fence, status=Version.Status.SUBMITTING
        ).update(paid_call_started_at=timezone.now(), lease_until=lease_until())
        if not marked:
            raise LeaseLost(f"v{self.version.number} is no longer ours to submit")


class ProgressReporter:
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


@contextmanager
def generation_request(
    version: Version, *, submitting: bool = False, files: bool = True
) -> Iterator[GenerationRequest]:
    """The engine request for a version, with its files on local disk (none
    for an engine that polls without them); when submitting, with the hooks
    that hold the lease and mark the paid call."""
    if not files:
        yield _request(version, images=[], videos=[], parent_video=None, submitting=submitting)
        return
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
                "pk", "video", "video_remote_uri", "video_remote_expires_at", "width", "height"
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
                if version.kind == Version.Kind.EXTEND:
                    images.append(_last_frame(version, parent_video, Path(workdir)))
                elif submitting and _needs_fitting(version, parent):
                    parent_video = _fitted(version, parent_video, Path(workdir))
        if (
            version.region
            and parent_video is not None
            and submitting
            and not capabilities_of(version.engine).edits_in_region
        ):
            images.append(_annotated_frame(version, parent_video, Path(workdir)))
        yield _request(
            version,
            images=images,
            videos=videos,
            parent_video=parent_video,
            submitting=submitting,
        )


def _request(
    version: Version,
    *,
    images: list[InputMedia],
    videos: list[InputMedia],
    parent_video: InputMedia | None,
    submitting: bool,
) -> GenerationRequest:
    return GenerationRequest(
        task=Task(version.kind),
        prompt=version.prompt,
        aspect_ratio=version.aspect_ratio,
        resolution=version.resolution,
        duration_seconds=version.generated_seconds,
        fps=round(version.fps),
        model=version.model,
        images=tuple(images),
        videos=tuple(videos),
        previous_interaction_id=version.previous_interaction_id,
        parent_video=parent_video,
        seed=version.seed,
        region=(
            tuple(version.region[name] for name in ("x", "y", "w", "h")) if version.region else None
        ),
        **(
            {"keep_alive": LeaseKeeper(version), "paid_call_starting": PaidCallMark(version)}
            if submitting
            else {}
        ),
    )


def _last_frame(version: Version, parent_video: InputMedia, workdir: Path) -> InputMedia:
    """The parent's last frame as a PNG, where an extension starts."""
    try:
        picture = last_frame_image(parent_video.path)
    except VideoError as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"The last frame of the video could not be read: {error}"
        ) from error
    path = workdir / f"last-frame-{version.pk}.png"
    picture.save(path, "PNG")
    key = f"last-frame-{version.pk}"
    return InputMedia(key=key, kind="image", path=path, mime_type="image/png")


def _annotated_frame(version: Version, parent_video: InputMedia, workdir: Path) -> InputMedia:
    """The parent's frame where the region was drawn, with the drawing on it,
    for an engine that is shown where to edit rather than told coordinates."""
    region = version.region
    drawn = [c for c in version.addressed_comments.all() if c.annotation]
    at = region.get("at")
    shapes = next((c.annotation for c in drawn if c.start_seconds == at), [])
    try:
        picture = frame_image_at(parent_video.path, at or 0.0)
    except VideoError as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"The frame to mark could not be read: {error}"
        ) from error
    path = workdir / f"annotated-{version.pk}.png"
    annotated_frame(picture, region=region, shapes=shapes).save(path, "PNG")
    return InputMedia(key=f"annotated-{version.pk}", kind="image", path=path, mime_type="image/png")


def _needs_fitting(version: Version, parent: Version) -> bool:
    """Whether the engine is sent a section of the parent, or the parent
    raised to the edit's size, rather than the parent as it is."""
    short_side = min(parent.width or 0, parent.height or 0)
    return (
        version.section_start is not None or 0 < short_side < RESOLUTION_HEIGHTS[version.resolution]
    )


def _fitted(version: Version, parent_video: InputMedia, workdir: Path) -> InputMedia:
    section = workdir / "section.mp4"
    try:
        clip_section(
            parent_video.path,
            section,
            start=version.section_start or 0.0,
            seconds=version.duration_seconds if version.section_start is not None else None,
            min_short_side=RESOLUTION_HEIGHTS[version.resolution],
        )
    except VideoError as error:
        raise EngineError(
            ErrorKind.INVALID_INPUT, f"The clip could not be prepared for the edit: {error}"
        ) from error
    # Made for this version alone: never kept as the parent's uploaded file.
    return replace(parent_video, key=f"section-{version.pk}", path=section, remote_uri="")
