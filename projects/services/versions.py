"""Creating versions: a generation or an edit, or an uploaded clip. Each is
queued and its generation enqueued in one transaction, so both are committed
or neither is."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from projects.models import Activity, Asset, Comment, Membership, Project, Version
from projects.services.access import require_role
from projects.services.activity import activity_record
from projects.services.assets import (
    UPLOADED_VIDEO_POLICY_MESSAGE,
    asset_create_video,
    nearest_aspect_ratio,
    nearest_resolution,
)
from projects.services.broadcast import record_event
from projects.services.budgets import budget_hold
from projects.services.composer import (
    MAX_VARIATIONS,
    cost_estimate,
    new_seed,
    rerun_arguments,
    validate_generation_choices,
)
from projects.services.engines import get_engine
from projects.services.errors import StudioError
from projects.services.queue import enqueue_generation
from projects.services.throttle import QuotaExhausted, quota_day_check
from studio.engines.base import FPS, EngineError, Task

# Uploaded clips are imported by the studio itself, not made by an engine.
UPLOAD_ENGINE = "upload"
# The longest a version may last (the Version model's constraint).
MAX_VERSION_SECONDS = 60
# The versions made from a parent's video.
CHILD_KINDS = (Version.Kind.EDIT, Version.Kind.EXTEND)


def version_create(
    *,
    project: Project,
    membership: Membership,
    author: AbstractBaseUser,
    kind: str,
    prompt: str,
    aspect_ratio: str,
    resolution: str,
    duration_seconds: int,
    engine: str,
    prompt_fields: dict[str, str] | None = None,
    instruction: str = "",
    keep_rest_same: bool = False,
    template: str = "",
    parent: Version | None = None,
    assets: Iterable[Asset] = (),
    addressed_comments: Iterable[Comment] = (),
    section_start: float | None = None,
    seed: int | None = None,
    fps: int = FPS,
    region: dict | None = None,
    extend_seconds: int | None = None,
) -> Version:
    """Create a queued Version and enqueue its generation, in one transaction:
    both are committed or neither is. An extension (``extensions``) is made
    of ``extend_seconds``; its ``duration_seconds`` is the stitched whole."""
    require_role(membership, generate=True)
    prompt = prompt.strip()
    if not prompt:
        raise StudioError("Write a prompt.", field="prompt")
    if len(prompt) > settings.STUDIO_MAX_PROMPT_CHARS:
        raise StudioError(
            f"The prompt is {len(prompt):,} characters; the limit is "
            f"{settings.STUDIO_MAX_PROMPT_CHARS:,}.",
            field="prompt",
        )
    try:
        capabilities = get_engine(engine).capabilities()
    except KeyError as error:
        raise StudioError(f"There is no engine called {engine!r}.", field="engine") from error
    assets = list(assets)
    addressed_comments = list(addressed_comments)
    if any(c.version_id != getattr(parent, "pk", None) for c in addressed_comments):
        raise StudioError("Those comments are not on the version being edited.")
    if parent is not None and parent.project_id != project.pk:
        raise StudioError("That version belongs to another project.", field="parent")
    if kind in CHILD_KINDS:
        verb = "edit" if kind == Version.Kind.EDIT else "extend"
        if parent is None:
            what = "An edit" if kind == Version.Kind.EDIT else "An extension"
            raise StudioError(f"{what} needs the version it {verb}s.", field="parent")
        if parent.status != Version.Status.READY:
            raise StudioError(f"{parent.label} is not ready yet; {verb} it once it is.")
    elif parent is not None:
        raise StudioError("Only edits and extensions have a parent version.", field="parent")
    if (kind == Version.Kind.EXTEND) != (extend_seconds is not None):
        raise StudioError("Only an extension, and every one, says how many seconds it adds.")
    # What the engine makes: an extension's seconds, else the whole video.
    generated_seconds = extend_seconds or duration_seconds
    if kind == Version.Kind.EXTEND:
        _check_extension(duration_seconds=duration_seconds, assets=assets)
    if region is not None and kind != Version.Kind.EDIT:
        raise StudioError("Only an edit applies in a region of the picture.", field="region")
    if kind == Version.Kind.IMAGE_TO_VIDEO and not assets:
        raise StudioError("Upload a still to animate.", field="image")
    if any(asset.project_id != project.pk for asset in assets):
        raise StudioError("That file belongs to another project.", field="image")
    task = Task(kind)
    if task not in capabilities.tasks:
        raise StudioError(f"{capabilities.label} cannot do {Version.Kind(kind).label.lower()}.")
    validate_generation_choices(
        capabilities=capabilities,
        aspect_ratio=aspect_ratio,
        resolution=resolution,
        duration_seconds=generated_seconds,
        fps=fps,
        kept_fps=round(parent.fps) if parent is not None else None,
    )
    images = [a for a in assets if a.kind == Asset.Kind.IMAGE]
    if len(images) > capabilities.max_images:
        raise StudioError(
            f"{capabilities.label} takes at most {capabilities.max_images} images.", field="image"
        )
    videos = [a for a in assets if a.kind == Asset.Kind.VIDEO]
    if len(videos) > capabilities.max_videos:
        raise StudioError(
            f"{capabilities.label} takes at most {capabilities.max_videos} videos.",
            field="references",
        )
    if kind == Version.Kind.REFERENCE_TO_VIDEO and not assets:
        raise StudioError("Add the images or clips to use as references.", field="references")
    if (
        kind in CHILD_KINDS
        and parent.kind == Version.Kind.UPLOAD
        and capabilities.paid
        and project.workspace.restricts_minors_and_uploaded_video
    ):
        raise StudioError(UPLOADED_VIDEO_POLICY_MESSAGE, field="engine")
    if kind == Version.Kind.EDIT:
        _check_instruction(engine, prompt)
    try:
        quota_day_check(engine=engine)
    except QuotaExhausted as out:
        raise StudioError(out.message, field="engine") from out

    with transaction.atomic():
        version = Version.objects.create(
            project=project,
            parent=parent,
            number=_next_version_number(project),
            kind=kind,
            prompt=prompt,
            instruction=instruction,
            prompt_fields={k: v for k, v in (prompt_fields or {}).items() if v},
            keep_rest_same=keep_rest_same,
            template=template,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            duration_seconds=duration_seconds,
            fps=fps,
            engine=engine,
            # An extension is new video from the parent's last frame: it
            # continues no interaction (that would re-make the parent's clip).
            previous_interaction_id=parent.interaction_id if kind == Version.Kind.EDIT else "",
            section_start=section_start if kind == Version.Kind.EDIT else None,
            seed=seed,
            region=region,
            extend_seconds=extend_seconds,
            cost_estimate=cost_estimate(
                engine=engine, resolution=resolution, duration_seconds=generated_seconds, fps=fps
            ),
            author=author,
        )
        budget_hold(version=version)
        if assets:
            version.input_assets.set(assets)
        if addressed_comments:
            version.addressed_comments.set(addressed_comments)
        _queued(
            version,
            author=author,
            verb=_verb(kind, parent=parent),
            detail=(instruction or prompt),
        )
    return version


def _verb(kind: str, *, parent: Version | None) -> str:
    if kind == Version.Kind.EXTEND:
        return Activity.Verb.EXTENDED
    return Activity.Verb.EDITED if parent else Activity.Verb.GENERATED


def version_create_variations(*, count: int, **arguments) -> list[Version]:
    """``count`` versions of one request, side by side, each with a seed of
    its own (one alone keeps the engine's own); all are made or none is, so
    a budget that holds two of three makes none."""
    if not 1 <= count <= MAX_VARIATIONS:
        raise StudioError(f"Make 1 to {MAX_VARIATIONS} versions at a time.", field="variations")
    with transaction.atomic():
        return [
            version_create(**arguments, seed=new_seed() if count > 1 else None)
            for _ in range(count)
        ]


def version_rerun(*, source: Version, membership: Membership, author: AbstractBaseUser) -> Version:
    """The same request again, beside it (same parent, prompt, settings and
    inputs) with a new seed: another take, not a retry of a failure."""
    require_role(membership, generate=True)
    if source.kind == Version.Kind.UPLOAD:
        raise StudioError("An uploaded clip is not made by an engine: there is nothing to re-run.")
    if source.status != Version.Status.READY:
        # A failed, blocked or cancelled one has Retry, which warns before
        # paying again for a prompt that was blocked.
        status = source.get_status_display().lower()
        raise StudioError(f"Only a ready version is re-run; {source.label} is {status}.")
    return version_create(
        project=source.project,
        membership=membership,
        author=author,
        **rerun_arguments(source),
        seed=new_seed(),
    )


def _check_extension(*, duration_seconds: int, assets: list[Asset]) -> None:
    if assets:
        raise StudioError("An extension is made from its parent's video; it takes no files.")
    if duration_seconds > MAX_VERSION_SECONDS:
        raise StudioError(
            f"A version lasts at most {MAX_VERSION_SECONDS} s; this one would last "
            f"{duration_seconds} s.",
            field="seconds",
        )


def _check_instruction(engine: str, prompt: str) -> None:
    """An engine refuses edits it cannot carry out; say so on the form
    instead of queuing a version that can only be refused."""
    try:
        get_engine(engine).check_instruction(prompt)
    except EngineError as error:
        raise StudioError(error.message, field="instruction") from error


def version_create_upload(
    *, project: Project, membership: Membership, author: AbstractBaseUser, upload: UploadedFile
) -> Version:
    """An uploaded clip becomes a root version; it is normalised to MP4 by a
    task before anything edits it."""
    with transaction.atomic():
        asset = asset_create_video(
            project=project, membership=membership, user=author, upload=upload
        )
        version = Version.objects.create(
            project=project,
            number=_next_version_number(project),
            kind=Version.Kind.UPLOAD,
            prompt=f"Uploaded clip “{asset.original_name or 'video'}”",
            aspect_ratio=nearest_aspect_ratio(asset.width, asset.height),
            resolution=nearest_resolution(asset.width, asset.height),
            duration_seconds=min(max(round(asset.duration_seconds or 1), 1), 60),
            engine=UPLOAD_ENGINE,
            model="",
            author=author,
        )
        version.input_assets.set([asset])
        _queued(version, author=author, verb=Activity.Verb.UPLOADED)
    return version


def _queued(version: Version, *, author: AbstractBaseUser, verb: str, detail: str = "") -> None:
    """Enqueue the new version's generation, note it in the feed and tell the
    pages, all in the transaction that created it."""
    enqueue_generation(version.pk, submit=True)
    activity_record(
        project=version.project, actor=author, verb=verb, version=version, detail=detail
    )
    record_event(version, kind="created")


def _next_version_number(project: Project) -> int:
    Project.objects.filter(pk=project.pk).update(
        last_version_number=F("last_version_number") + 1, updated_at=timezone.now()
    )
    return Project.objects.values_list("last_version_number", flat=True).get(pk=project.pk)
