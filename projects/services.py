"""The studio's workflows: typed, keyword-only functions over the models.

Views, tasks and consumers stay thin and call these. A generation's life is
here too: every state change of a Version is a conditional UPDATE that names
the state it expects and the fence of the worker making it, so a stale or
duplicate worker changes nothing (see DESIGN.md, "A generation's life").
"""

from __future__ import annotations

import difflib
import hashlib
import logging
import random
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import av
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Avg, DurationField, ExpressionWrapper, F, Q
from django.http import Http404
from django.utils import timezone

from projects.media import (
    MediaError,
    check_video_file,
    normalise_image,
    poster_jpeg,
    probe_video,
    sha256_file,
    sniff_video_container,
    transcode_to_mp4,
)
from projects.models import (
    Activity,
    Asset,
    Comment,
    Invitation,
    Membership,
    Presence,
    Project,
    Review,
    Version,
    Workspace,
)
from studio.engines import get_engine
from studio.engines.base import (
    Capabilities,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollState,
    Submission,
    SubmissionUncertain,
    Task,
    VideoOutput,
)
from studio.engines.video import VideoError, reframe

logger = logging.getLogger(__name__)

KEEP_REST_SAME = "Keep everything else the same."
PROMPT_FIELDS = ("subject", "action", "camera", "scene", "lighting", "style", "preserve", "exclude")


class StudioError(Exception):
    """A request the studio refuses, with a message for the person and the
    form field it concerns (if any)."""

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class LeaseLost(Exception):
    """This worker no longer owns the version: it was cancelled, or another
    worker took it over. Stop without writing anything."""


class WorkerStopping(LeaseLost):
    """The process is shutting down: stop the work and let the version be
    resumed from its last safe state."""


# Set when the studio process is asked to stop (Ctrl-C): running work stops
# at its next progress report instead of being cut off mid-write.
shutdown_requested = threading.Event()


# Scoping: every object lookup goes through these.


def membership_for(*, user: AbstractBaseUser, workspace_id: int) -> Membership:
    try:
        return Membership.objects.select_related("workspace").get(
            user=user, workspace_id=workspace_id
        )
    except Membership.DoesNotExist as error:
        raise Http404("No such workspace.") from error


def project_for_user(*, user: AbstractBaseUser, project_id: int) -> tuple[Project, Membership]:
    """The project if the user is a member of its workspace, else 404."""
    membership = (
        Membership.objects.select_related("workspace")
        .filter(user=user, workspace__projects__pk=project_id)
        .first()
    )
    if membership is None:
        raise Http404("No such project.")
    project = Project.objects.select_related("workspace").get(pk=project_id)
    return project, membership


def version_for_user(
    *, user: AbstractBaseUser, project_id: int, number: int
) -> tuple[Version, Membership]:
    project, membership = project_for_user(user=user, project_id=project_id)
    try:
        version = (
            Version.objects.select_related("project__workspace", "author", "parent")
            .prefetch_related("input_assets")
            .get(project=project, number=number)
        )
    except Version.DoesNotExist as error:
        raise Http404("No such version.") from error
    return version, membership


def require_role(membership: Membership, *, generate: bool = False) -> None:
    if generate and not membership.can_generate:
        raise PermissionDenied(
            f"Your role in {membership.workspace} is {membership.get_role_display().lower()}: "
            "only owners and editors can generate and edit videos."
        )


# Workspaces and projects.


def workspace_create_for_new_user(*, user: AbstractBaseUser) -> Workspace:
    with transaction.atomic():
        workspace = Workspace.objects.create(name=f"{user.get_username()}'s studio")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


def project_create(*, user: AbstractBaseUser, membership: Membership, title: str) -> Project:
    if not membership.can_manage_projects:
        raise StudioError("Only owners and editors can create projects.")
    return Project.objects.create(
        workspace=membership.workspace,
        title=title.strip(),
        created_by=user,
        default_engine=settings.STUDIO_DEFAULT_ENGINE,
    )


def project_rename(*, project: Project, membership: Membership, title: str) -> Project:
    if not membership.can_manage_projects:
        raise StudioError("Only owners and editors can rename projects.")
    project.title = title.strip()
    project.save(update_fields=["title", "updated_at"])
    return project


def project_delete(*, project: Project, membership: Membership) -> None:
    if not membership.can_manage_projects:
        raise StudioError("Only owners and editors can delete projects.")
    files = [
        name
        for version in project.versions.all()
        for name in (version.video.name, version.poster.name)
        if name
    ] + [asset.file.name for asset in project.assets.all()]
    storage = Version._meta.get_field("video").storage
    with transaction.atomic():
        project.delete()

        def remove_files() -> None:
            for name in files:
                with suppress(OSError):
                    storage.delete(name)

        transaction.on_commit(remove_files)


# Prompts.


def prompt_from_fields(fields: dict[str, str]) -> str:
    """One prompt from the composer's structured fields, in the order the
    model's guide recommends: subject and action, then the shot."""
    subject = fields.get("subject", "").strip()
    action = fields.get("action", "").strip()
    parts = []
    if subject or action:
        parts.append(_sentence(" ".join(p for p in (subject, action) if p)))
    labels = {
        "camera": "Camera",
        "scene": "Scene",
        "lighting": "Lighting",
        "style": "Style",
        "preserve": "Preserve",
        "exclude": "Avoid",
    }
    for key, label in labels.items():
        if value := fields.get(key, "").strip():
            parts.append(_sentence(f"{label}: {value}"))
    return " ".join(parts)


def edit_prompt(*, instruction: str, keep_rest_same: bool, preserve: str = "") -> str:
    parts = [_sentence(instruction.strip())]
    if keep_rest_same:
        parts.append(KEEP_REST_SAME)
        if preserve.strip():
            parts.append(_sentence(f"Preserve {preserve.strip()}"))
    return " ".join(parts)


def _sentence(text: str) -> str:
    """Text ending as a sentence, so instructions joined after it stay apart."""
    text = text.strip()
    return text if re.search(r"[.!?][\"'\u201d\u2019]?$", text) else f"{text}."


@dataclass(frozen=True)
class TaskTemplate:
    key: str
    label: str
    # "text", "image" or "edit": where the template applies.
    mode: str
    fields: dict[str, str]
    instruction: str = ""


TASK_TEMPLATES = {
    template.key: template
    for template in [
        TaskTemplate(
            "short_ad",
            "Short ad",
            "text",
            {
                "subject": "A sleek product on a pedestal",
                "action": "turns slowly to show every side",
                "camera": "slow push in, single continuous shot",
                "scene": "clean studio backdrop",
                "lighting": "soft key light with a warm rim",
                "style": "polished commercial",
                "exclude": "extra text or logos",
            },
        ),
        TaskTemplate(
            "animate_still",
            "Animate a product still",
            "image",
            {
                "subject": "The product in the photo",
                "action": "comes gently alive",
                "camera": "gentle push in",
                "preserve": "the product's shape, colours and branding",
            },
        ),
        TaskTemplate(
            "relight",
            "Replace background or lighting",
            "edit",
            {},
            instruction="Make it night",
        ),
        TaskTemplate(
            "reframe_portrait",
            "Reframe landscape to portrait",
            "edit",
            {},
            instruction="Reframe to 9:16",
        ),
        TaskTemplate(
            "onscreen_text",
            "Add on-screen text",
            "edit",
            {},
            instruction='Add on-screen text "LAUNCH DAY" at the top from 1s to 3s',
        ),
    ]
}


def cost_estimate(*, engine: str, resolution: str, duration_seconds: int) -> Decimal:
    rates = settings.STUDIO_PRICE_PER_SECOND.get(engine, {})
    return rates.get(resolution, Decimal(0)) * duration_seconds


def validate_generation_choices(
    *, capabilities: Capabilities, aspect_ratio: str, resolution: str, duration_seconds: int
) -> None:
    if aspect_ratio not in capabilities.aspect_ratios:
        raise StudioError(
            f"{capabilities.label} makes {', '.join(capabilities.aspect_ratios)}.",
            field="aspect_ratio",
        )
    if resolution not in capabilities.resolutions:
        raise StudioError(
            f"{capabilities.label} makes {', '.join(capabilities.resolutions)}.",
            field="resolution",
        )
    if duration_seconds not in capabilities.durations:
        raise StudioError(
            f"Duration must be {capabilities.min_duration} to {capabilities.max_duration} seconds.",
            field="duration_seconds",
        )


# Assets.


MINOR_POLICY_MESSAGE = (
    "In the EEA, Switzerland and the UK the model may not be given images that depict "
    "minors: confirm this image does not show anyone under 18."
)
UPLOADED_VIDEO_POLICY_MESSAGE = (
    "In the EEA, Switzerland and the UK Gemini cannot edit uploaded videos (it can edit "
    "the videos it made). Choose the local engine for this edit."
)


def asset_create_image(
    *,
    project: Project,
    membership: Membership,
    user: AbstractBaseUser,
    upload: UploadedFile,
    confirmed_no_minors: bool = False,
) -> Asset:
    require_role(membership, generate=True)
    if project.workspace.restricts_minors_and_uploaded_video and not confirmed_no_minors:
        raise StudioError(MINOR_POLICY_MESSAGE, field="confirm_no_minors")
    image = normalise_image(upload)
    asset = Asset(
        project=project,
        kind=Asset.Kind.IMAGE,
        original_name=(upload.name or "")[:255],
        mime_type=image.mime_type,
        size_bytes=len(image.content),
        width=image.width,
        height=image.height,
        sha256=image.sha256,
        uploaded_by=user,
    )
    asset.file.save(
        f"{image.sha256[:16]}.{image.extension}", ContentFile(image.content), save=False
    )
    asset.save()
    return asset


def asset_create_video(
    *, project: Project, membership: Membership, user: AbstractBaseUser, upload: UploadedFile
) -> Asset:
    """Store an uploaded clip once its content and bounds are checked."""
    require_role(membership, generate=True)
    with _upload_on_disk(upload) as path:
        info = check_video_file(path, size=upload.size)
        digest = sha256_file(path)
        asset = Asset(
            project=project,
            kind=Asset.Kind.VIDEO,
            original_name=(upload.name or "")[:255],
            mime_type="video/webm" if sniff_video_container(_head(path)) == "webm" else "video/mp4",
            size_bytes=upload.size,
            width=info.width,
            height=info.height,
            duration_seconds=info.duration_seconds,
            codec=info.video_codec,
            sha256=digest,
            uploaded_by=user,
        )
        extension = "webm" if asset.mime_type == "video/webm" else "mp4"
        with open(path, "rb") as handle:
            asset.file.save(f"{digest[:16]}.{extension}", File(handle), save=False)
    asset.save()
    return asset


def _head(path: Path) -> bytes:
    with open(path, "rb") as handle:
        return handle.read(16)


@contextmanager
def _upload_on_disk(upload: UploadedFile) -> Iterator[Path]:
    if hasattr(upload, "temporary_file_path"):
        yield Path(upload.temporary_file_path())
        return
    with tempfile.NamedTemporaryFile(prefix="studio-upload-") as handle:
        upload.seek(0)
        shutil.copyfileobj(upload, handle)
        handle.flush()
        yield Path(handle.name)


def version_create_upload(
    *, project: Project, membership: Membership, author: AbstractBaseUser, upload: UploadedFile
) -> Version:
    """An uploaded clip becomes a root version; it is normalised to MP4 by a
    task before anything edits it."""
    from projects.tasks import advance_generation

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
        advance_generation.enqueue(version.pk)
        sweeper_ensure()
        activity_record(project=project, actor=author, verb=Activity.Verb.UPLOADED, version=version)
        _record_event(version, kind="created")
    return version


# Uploaded clips are imported by the studio itself, not made by an engine.
UPLOAD_ENGINE = "upload"


def nearest_aspect_ratio(width: int, height: int) -> str:
    ratio = width / height
    return min(("16:9", "9:16", "1:1"), key=lambda r: abs(_ratio(r) - ratio))


def _ratio(aspect_ratio: str) -> float:
    w, h = aspect_ratio.split(":")
    return int(w) / int(h)


def nearest_resolution(width: int, height: int) -> str:
    short = min(width, height)
    return min(("480p", "720p", "1080p"), key=lambda r: abs(int(r[:-1]) - short))


# Creating versions.


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
) -> Version:
    """Create a queued Version and enqueue its generation, in one transaction:
    both are committed or neither is."""
    from projects.tasks import advance_generation

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
    if kind == Version.Kind.EDIT:
        if parent is None:
            raise StudioError("An edit needs the version it edits.", field="parent")
        if parent.status != Version.Status.READY:
            raise StudioError(f"{parent.label} is not ready yet; edit it once it is.")
    elif parent is not None:
        raise StudioError("Only edits have a parent version.", field="parent")
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
        duration_seconds=duration_seconds,
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
        kind == Version.Kind.EDIT
        and parent.kind == Version.Kind.UPLOAD
        and capabilities.paid
        and project.workspace.restricts_minors_and_uploaded_video
    ):
        raise StudioError(UPLOADED_VIDEO_POLICY_MESSAGE, field="engine")
    if kind == Version.Kind.EDIT:
        _check_instruction(engine, prompt)

    with transaction.atomic():
        number = _next_version_number(project)
        version = Version.objects.create(
            project=project,
            parent=parent,
            number=number,
            kind=kind,
            prompt=prompt,
            instruction=instruction,
            prompt_fields={k: v for k, v in (prompt_fields or {}).items() if v},
            keep_rest_same=keep_rest_same,
            template=template,
            aspect_ratio=aspect_ratio,
            resolution=resolution,
            duration_seconds=duration_seconds,
            engine=engine,
            previous_interaction_id=parent.interaction_id if parent else "",
            cost_estimate=cost_estimate(
                engine=engine, resolution=resolution, duration_seconds=duration_seconds
            ),
            author=author,
        )
        if assets:
            version.input_assets.set(assets)
        if addressed_comments:
            version.addressed_comments.set(addressed_comments)
        advance_generation.enqueue(version.pk)
        sweeper_ensure()
        activity_record(
            project=project,
            actor=author,
            verb=Activity.Verb.EDITED if parent else Activity.Verb.GENERATED,
            version=version,
            detail=(instruction or prompt)[:300],
        )
        _record_event(version, kind="created")
    return version


def _check_instruction(engine: str, prompt: str) -> None:
    """An engine refuses edits it cannot carry out; say so on the form
    instead of queuing a version that can only be refused."""
    try:
        get_engine(engine).check_instruction(prompt)
    except EngineError as error:
        raise StudioError(error.message, field="instruction") from error


def _next_version_number(project: Project) -> int:
    Project.objects.filter(pk=project.pk).update(
        last_version_number=F("last_version_number") + 1, updated_at=timezone.now()
    )
    return Project.objects.values_list("last_version_number", flat=True).get(pk=project.pk)


# Events: sent after the transaction that made them commits.


def _record_event(version: Version, *, kind: str) -> None:
    """Number the change and send it once it is committed."""
    with transaction.atomic():
        Project.objects.filter(pk=version.project_id).update(event_seq=F("event_seq") + 1)
        seq = Project.objects.values_list("event_seq", flat=True).get(pk=version.project_id)
        Version.objects.filter(pk=version.pk).update(event_seq=seq)
        version.event_seq = seq
        message = {
            "type": "version.changed",
            "version_id": version.pk,
            "kind": kind,
            "seq": seq,
        }
        project_id = version.project_id
        transaction.on_commit(lambda: _send(project_group(project_id), message))


def _project_event(project_id: int, *, kind: str) -> None:
    """A change that belongs to no single version (presence)."""
    message = {"type": "project.changed", "kind": kind}
    transaction.on_commit(lambda: _send(project_group(project_id), message))


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def _send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The socket is a cache of the database: a lost event is recovered by
        # the snapshot on reconnect or by polling, never by failing the work.
        logger.warning("Could not send %s to %s", message.get("type"), group, exc_info=True)


def session_ended(*, user_id: int) -> None:
    _send(user_group(user_id), {"type": "session.ended"})


# A generation's life.


def _now():
    return timezone.now()


def _lease_until():
    return _now() + timedelta(seconds=settings.STUDIO_LEASE_SECONDS)


def version_claim(*, version_id: int) -> Version | None:
    """Take the version for this worker: only one worker holds an unexpired
    lease, and taking it bumps the fence so earlier holders are shut out."""
    now = _now()
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
    fields["updated_at"] = _now()
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, fence=version.fence, status=expect).update(
            **fields
        )
        if not changed:
            raise LeaseLost(f"v{version.number} is no longer ours to write")
        for name, value in fields.items():
            setattr(version, name, value)
        _record_event(version, kind=event)


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


def _submit(version: Version, engine) -> None:
    version_write(
        version,
        expect=Version.Status.QUEUED,
        status=Version.Status.SUBMITTING,
        submitted_at=_now(),
        error_kind="",
        error_message="",
        retry_at=None,
    )
    try:
        with _generation_request(version) as request:
            submission = engine.submit(request)
    except SubmissionUncertain as error:
        version_write(
            version,
            expect=Version.Status.SUBMITTING,
            status=Version.Status.RECONCILE,
            lease_until=None,
            error_kind="uncertain",
            error_message=(
                "We could not tell whether the engine accepted this generation "
                f"({error}). Submitting again could be charged twice: choose below."
            ),
        )
        return
    except EngineError as error:
        _engine_failed(version, error, expect=Version.Status.SUBMITTING)
        return
    _submitted(version, engine, submission)
    _poll(version, engine)


def _submitted(version: Version, engine, submission: Submission) -> None:
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
        # Cancelled while the paid call was in flight: keep the id so nothing
        # paid for is forgotten, and stop the work at the engine.
        Version.objects.filter(pk=version.pk, interaction_id="").update(
            interaction_id=submission.interaction_id
        )
        with suppress(EngineError):
            engine.cancel(submission.interaction_id)
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


def _resume_submitting(version: Version, engine) -> None:
    """A worker died during submission. With the id stored, poll it; without,
    nobody knows whether it was paid for, unless the engine is free."""
    if version.interaction_id:
        version_write(version, expect=Version.Status.SUBMITTING, status=Version.Status.GENERATING)
        _poll(version, engine)
    elif not engine.capabilities().paid:
        version_write(version, expect=Version.Status.SUBMITTING, status=Version.Status.QUEUED)
        _submit(version, engine)
    else:
        version_write(
            version,
            expect=Version.Status.SUBMITTING,
            status=Version.Status.RECONCILE,
            lease_until=None,
            error_kind="uncertain",
            error_message=(
                "The studio stopped while submitting this generation, so it may or may not "
                "have been charged. Submit again (possibly paying twice) or cancel."
            ),
        )


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


def _poll(version: Version, engine) -> None:
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
        from projects.tasks import advance_generation

        run_after = _now() + timedelta(seconds=settings.STUDIO_POLL_SECONDS)
        advance_generation.using(run_after=run_after).enqueue(version.pk)
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


def _save_output(version: Version, engine, output: VideoOutput, *, usage) -> None:
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


def _store_video(version: Version, final: Path, *, usage) -> None:
    """Probe the finished MP4, keep it and its poster in our storage and mark
    the version ready; if this worker lost the version meanwhile, nothing
    it stored is kept."""
    storage = Version._meta.get_field("video").storage
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
        with open(final, "rb") as handle:
            video_name = storage.save(f"{stem}.mp4", File(handle))
        saved.append(video_name)
        poster_name = storage.save(f"{stem}.jpg", ContentFile(poster))
        saved.append(poster_name)
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
            video=video_name,
            poster=poster_name,
            width=info.width,
            height=info.height,
            video_duration=info.duration_seconds,
            video_bytes=Path(final).stat().st_size,
            has_audio=info.has_audio,
            progress=1.0 if version.progress is not None else None,
            cost=version.cost_estimate,
            finished_at=_now(),
            error_kind="",
            error_message="",
            retry_at=None,
            **usage_fields,
        )
        saved.clear()
    finally:
        for name in saved:
            with suppress(OSError):
                storage.delete(name)


def _import_upload(version: Version) -> None:
    """Normalise an uploaded clip into the version's MP4 and poster."""
    if version.status == Version.Status.QUEUED:
        version_write(
            version,
            expect=Version.Status.QUEUED,
            status=Version.Status.SAVING,
            submitted_at=_now(),
            progress=0.0,
        )
    asset = version.input_assets.get()
    workdir = Path(tempfile.mkdtemp(prefix="studio-import-"))
    try:
        normalised = workdir / "normalised.mp4"
        try:
            transcode_to_mp4(
                _local_path(asset.file, workdir), normalised, progress=_ProgressReporter(version)
            )
        except (MediaError, av.FFmpegError) as error:
            version_write(
                version,
                expect=Version.Status.SAVING,
                status=Version.Status.FAILED,
                lease_until=None,
                error_kind=ErrorKind.INVALID_INPUT,
                error_message=f"The clip could not be converted: {error}",
                finished_at=_now(),
            )
            return
        _store_video(version, normalised, usage=None)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# Interaction errors that left no trace at the engine worth polling again.
POLL_AGAIN_KINDS = {ErrorKind.UNAVAILABLE, ErrorKind.TIMED_OUT, ErrorKind.RATE_LIMITED}


def _engine_failed(version: Version, error: EngineError, *, expect: str) -> None:
    from projects.tasks import advance_generation

    if (
        error.kind.is_transient
        and version.transient_failures < settings.STUDIO_MAX_TRANSIENT_RETRIES
    ):
        delay = error.retry_after
        if delay is None:
            delay = min(300.0, 2.0 * 2**version.transient_failures) * random.uniform(0.5, 1.5)
        retry_at = _now() + timedelta(seconds=delay)
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
        advance_generation.using(run_after=retry_at).enqueue(version.pk)
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
        finished_at=_now(),
    )


@contextmanager
def _generation_request(version: Version) -> Iterator[GenerationRequest]:
    """The engine request for a version, with its files on local disk."""
    with tempfile.TemporaryDirectory(prefix="studio-inputs-") as workdir:
        images, videos = [], []
        for asset in version.input_assets.all():
            media = InputMedia(
                key=f"asset-{asset.pk}",
                kind=asset.kind,
                path=_local_path(asset.file, Path(workdir)),
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
                    path=_local_path(parent.video, Path(workdir)),
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
        )


def _local_path(field_file, workdir: Path) -> Path:
    try:
        return Path(field_file.path)
    except NotImplementedError:
        # Remote storage: bring the file here for the engine.
        destination = workdir / Path(field_file.name).name
        with field_file.open("rb") as source, open(destination, "wb") as target:
            shutil.copyfileobj(source, target)
        return destination


# What people do to a running or finished version.


def version_cancel(*, version: Version, membership: Membership) -> None:
    from projects.tasks import cancel_interaction

    require_role(membership, generate=True)
    with transaction.atomic():
        changed = Version.objects.filter(
            pk=version.pk, status__in=[*Version.Status.unfinished(), Version.Status.RECONCILE]
        ).update(
            status=Version.Status.CANCELLED,
            fence=F("fence") + 1,
            lease_until=None,
            retry_at=None,
            error_kind=ErrorKind.CANCELLED,
            error_message=f"Cancelled by {membership.user.get_username()}.",
            finished_at=_now(),
            updated_at=_now(),
        )
        if not changed:
            raise StudioError(f"{version.label} is {version.get_status_display().lower()}.")
        version.refresh_from_db()
        if version.interaction_id:
            cancel_interaction.enqueue(version.pk)
        _record_event(version, kind="state")


def interaction_cancel(*, version_id: int) -> None:
    version = Version.objects.get(pk=version_id)
    if version.interaction_id:
        with suppress(EngineError):
            get_engine(version.engine).cancel(version.interaction_id)


def version_retry(*, version: Version, membership: Membership) -> None:
    """Try a failed version again as a new attempt. When its interaction
    exists and only reaching it failed, poll it again instead of paying for
    another."""
    from projects.tasks import advance_generation

    require_role(membership, generate=True)
    if not version.can_retry:
        raise StudioError(
            f"{version.label} is {version.get_status_display().lower()}; it cannot be retried."
        )
    poll_again = bool(version.interaction_id) and version.error_kind in POLL_AGAIN_KINDS
    fields = {
        "status": Version.Status.GENERATING if poll_again else Version.Status.QUEUED,
        "fence": F("fence") + 1,
        "attempt": F("attempt") + 1,
        "lease_until": None,
        "retry_at": None,
        "transient_failures": 0,
        "progress": None,
        "error_kind": "",
        "error_message": "",
        "finished_at": None,
        "updated_at": _now(),
    }
    if not poll_again and version.interaction_id:
        fields["abandoned_interaction_ids"] = [
            *version.abandoned_interaction_ids,
            version.interaction_id,
        ]
        fields["interaction_id"] = ""
        fields["output_uri"] = ""
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, status=version.status).update(**fields)
        if not changed:
            raise StudioError(f"{version.label} changed meanwhile; reload and try again.")
        version.refresh_from_db()
        advance_generation.enqueue(version.pk)
        sweeper_ensure()
        _record_event(version, kind="state")


def version_reconcile(*, version: Version, membership: Membership, resubmit: bool) -> None:
    """A person's decision on a version that may or may not have been paid for."""
    from projects.tasks import advance_generation

    require_role(membership, generate=True)
    if version.status != Version.Status.RECONCILE:
        raise StudioError(f"{version.label} does not need a decision.")
    if not resubmit:
        version_cancel(version=version, membership=membership)
        return
    with transaction.atomic():
        changed = Version.objects.filter(pk=version.pk, status=Version.Status.RECONCILE).update(
            status=Version.Status.QUEUED,
            fence=F("fence") + 1,
            attempt=F("attempt") + 1,
            lease_until=None,
            error_kind="",
            error_message="",
            updated_at=_now(),
        )
        if not changed:
            raise StudioError(f"{version.label} changed meanwhile; reload and try again.")
        version.refresh_from_db()
        advance_generation.enqueue(version.pk)
        _record_event(version, kind="state")


# The sweeper: resumes versions whose worker died.


SWEEP_TASK_PATH = "projects.tasks.sweep_versions"


def versions_sweep(*, on_startup: bool = False) -> int:
    """Re-enqueue every unfinished version whose lease expired, or that has
    had no worker for longer than a lease (on startup: no worker at all).
    Returns how many were resumed. Extra tasks are harmless: only one worker
    can claim a version."""
    from projects.tasks import advance_generation

    now = _now()
    stale = now if on_startup else now - timedelta(seconds=settings.STUDIO_LEASE_SECONDS)
    resumable = (
        Version.objects.unfinished()
        .filter(Q(lease_until__lt=now) | Q(lease_until__isnull=True, updated_at__lt=stale))
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .values_list("pk", flat=True)
    )
    count = 0
    for version_id in resumable:
        advance_generation.enqueue(version_id)
        count += 1
    return count


def sweeper_ensure() -> None:
    """Keep one sweep scheduled while there is unfinished work."""
    from django_tasks_db.models import DBTaskResult

    from projects.tasks import sweep_versions

    recent = _now() - timedelta(seconds=settings.STUDIO_SWEEP_SECONDS * 4)
    pending = DBTaskResult.objects.filter(task_path=SWEEP_TASK_PATH).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gte=recent)
    )
    if not pending.exists():
        run_after = _now() + timedelta(seconds=settings.STUDIO_SWEEP_SECONDS)
        sweep_versions.using(run_after=run_after).enqueue()


def sweep_and_reschedule() -> None:
    from projects.tasks import sweep_versions

    versions_sweep()
    if Version.objects.unfinished().exists():
        run_after = _now() + timedelta(seconds=settings.STUDIO_SWEEP_SECONDS)
        sweep_versions.using(run_after=run_after).enqueue()


# Reading: the tree, lineage and progress estimates.


@dataclass
class TreeNode:
    version: Version
    children: list[TreeNode]
    depth: int


def version_tree(versions: Iterable[Version]) -> list[TreeNode]:
    """Assemble the adjacency list into a tree in Python: one query, any size."""
    by_parent: dict[int | None, list[Version]] = {}
    for version in versions:
        by_parent.setdefault(version.parent_id, []).append(version)

    roots: list[TreeNode] = []
    stack: list[tuple[Version, int, list[TreeNode]]] = [
        (version, 0, roots) for version in reversed(by_parent.get(None, []))
    ]
    # Iterative, so a chain of a thousand edits cannot exhaust the stack.
    while stack:
        version, depth, siblings = stack.pop()
        node = TreeNode(version=version, children=[], depth=depth)
        siblings.append(node)
        for child in reversed(by_parent.get(version.pk, [])):
            stack.append((child, depth + 1, node.children))
    return roots


def flatten_tree(roots: list[TreeNode]) -> list[TreeNode]:
    ordered: list[TreeNode] = []
    stack = list(reversed(roots))
    while stack:
        node = stack.pop()
        ordered.append(node)
        stack.extend(reversed(node.children))
    return ordered


def lineage(version: Version, versions_by_id: dict[int, Version]) -> list[Version]:
    """Root to version, from versions already loaded."""
    chain = [version]
    seen = {version.pk}
    while chain[-1].parent_id and chain[-1].parent_id in versions_by_id:
        parent = versions_by_id[chain[-1].parent_id]
        if parent.pk in seen:
            break
        seen.add(parent.pk)
        chain.append(parent)
    return list(reversed(chain))


@dataclass(frozen=True)
class ProgressView:
    phase: str
    percent: int | None
    eta_seconds: int | None


def progress_view(version: Version, *, typical_seconds: float | None = None) -> ProgressView:
    """What the progress bar shows: the phase, a percentage when the engine
    gives one, and an estimate of the time left."""
    phase = version.get_status_display()
    if version.status == Version.Status.QUEUED and version.retry_at:
        phase = f"Retrying at {timezone.localtime(version.retry_at):%H:%M:%S}"
    percent = None if version.progress is None else round(version.progress * 100)
    eta = None
    started = version.submitted_at
    if version.is_unfinished and started:
        elapsed = (_now() - started).total_seconds()
        if version.progress and version.progress > 0.02:
            eta = elapsed / version.progress * (1 - version.progress)
        elif typical_seconds:
            eta = max(typical_seconds - elapsed, 0)
    return ProgressView(
        phase=phase, percent=percent, eta_seconds=None if eta is None else round(eta)
    )


def typical_durations(versions: Iterable[Version]) -> dict[tuple[str, str, str, int], float]:
    """Average seconds from submission to ready, for each (engine, model,
    resolution, duration) among the given unfinished versions: one query."""
    keys = {
        (v.engine, v.model, v.resolution, v.duration_seconds) for v in versions if v.is_unfinished
    }
    if not keys:
        return {}
    condition = Q()
    for engine, model, resolution, duration in keys:
        condition |= Q(engine=engine, model=model, resolution=resolution, duration_seconds=duration)
    rows = (
        Version.objects.filter(condition, status=Version.Status.READY, submitted_at__isnull=False)
        .values("engine", "model", "resolution", "duration_seconds")
        .annotate(
            average=Avg(
                ExpressionWrapper(
                    F("finished_at") - F("submitted_at"), output_field=DurationField()
                )
            )
        )
    )
    return {
        (row["engine"], row["model"], row["resolution"], row["duration_seconds"]): row[
            "average"
        ].total_seconds()
        for row in rows
        if row["average"] is not None
    }


# Teams: invitations, roles and removal.

INVITATION_LIFETIME = timedelta(days=7)


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_create(*, membership: Membership, role: str) -> tuple[Invitation, str]:
    """A single-use link; the token is returned once and only its digest kept."""
    if not membership.is_owner:
        raise PermissionDenied("Only owners can invite people.")
    if role not in Membership.Role.values:
        raise StudioError("Choose a role.", field="role")
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        workspace=membership.workspace,
        role=role,
        token_digest=_token_digest(token),
        created_by=membership.user,
        expires_at=_now() + INVITATION_LIFETIME,
    )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    try:
        return Invitation.objects.select_related("workspace").get(token_digest=_token_digest(token))
    except Invitation.DoesNotExist as error:
        raise Http404("This invitation link is not valid.") from error


def invitation_accept(*, token: str, user: AbstractBaseUser) -> Membership:
    invitation = invitation_for_token(token)
    with transaction.atomic():
        # Conditional, so two people racing for one link cannot both join.
        taken = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=_now(),
        ).update(accepted_at=_now(), accepted_by=user)
        if not taken:
            invitation.refresh_from_db()
            if invitation.revoked_at:
                raise StudioError("This invitation was withdrawn.")
            if invitation.accepted_at:
                raise StudioError("This invitation has already been used.")
            raise StudioError("This invitation has expired. Ask for a new one.")
        membership, created = Membership.objects.get_or_create(
            user=user, workspace=invitation.workspace, defaults={"role": invitation.role}
        )
        if not created:
            raise StudioError(f"You are already a member of {invitation.workspace}.")
    return membership


def invitation_revoke(*, membership: Membership, invitation: Invitation) -> None:
    if not membership.is_owner or invitation.workspace_id != membership.workspace_id:
        raise PermissionDenied("Only owners can withdraw invitations.")
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(revoked_at=_now())


def _owner_count(workspace_id: int) -> int:
    return Membership.objects.filter(workspace_id=workspace_id, role=Membership.Role.OWNER).count()


def membership_change_role(*, by: Membership, target: Membership, role: str) -> Membership:
    if not by.is_owner or by.workspace_id != target.workspace_id:
        raise PermissionDenied("Only owners can change roles.")
    if role not in Membership.Role.values:
        raise StudioError("Choose a role.", field="role")
    if target.is_owner and role != Membership.Role.OWNER and _owner_count(target.workspace_id) == 1:
        raise StudioError("A workspace needs an owner: make someone else owner first.")
    target.role = role
    target.save(update_fields=["role"])
    return target


def membership_remove(*, by: Membership, target: Membership) -> None:
    """Remove a member; their open pages lose access at once."""
    if not by.is_owner or by.workspace_id != target.workspace_id:
        raise PermissionDenied("Only owners can remove members.")
    if target.is_owner and _owner_count(target.workspace_id) == 1:
        raise StudioError("A workspace needs an owner: make someone else owner first.")
    user_id, workspace_id = target.user_id, target.workspace_id
    with transaction.atomic():
        target.delete()
        Presence.objects.filter(user_id=user_id, project__workspace_id=workspace_id).delete()
        message = {"type": "membership.revoked", "workspace_id": workspace_id}
        transaction.on_commit(lambda: _send(user_group(user_id), message))


# Review: comments, decisions, the pick, activity.


def activity_record(
    *, project: Project, actor, verb: str, version: Version | None = None, detail: str = ""
) -> Activity:
    return Activity.objects.create(
        project=project, actor=actor, verb=verb, version=version, detail=detail[:300]
    )


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def comment_create(
    *,
    version: Version,
    membership: Membership,
    body: str,
    start_seconds: float | None = None,
    end_seconds: float | None = None,
    parent: Comment | None = None,
) -> Comment:
    _require(membership.can_comment, "Viewers can watch but not comment.")
    body = body.strip()
    if not body:
        raise StudioError("Write a comment.", field="body")
    if parent is not None:
        if parent.version_id != version.pk or parent.parent_id is not None:
            raise StudioError("Reply to a comment on this version.", field="parent")
        start_seconds = end_seconds = None
    duration = version.video_duration or version.duration_seconds
    if start_seconds is not None:
        if start_seconds < 0 or start_seconds > duration + 0.05:
            raise StudioError(
                f"The time must be within the video (0 to {duration:.1f} s).", field="start_seconds"
            )
        start_seconds = round(start_seconds, 1)
    if end_seconds is not None:
        if start_seconds is None:
            raise StudioError("A range needs a start time.", field="start_seconds")
        end_seconds = round(min(end_seconds, duration), 1)
        if end_seconds <= start_seconds:
            raise StudioError("The range must end after it starts.", field="end_seconds")
    with transaction.atomic():
        comment = Comment.objects.create(
            version=version,
            author=membership.user,
            parent=parent,
            body=body,
            start_seconds=start_seconds,
            end_seconds=end_seconds,
        )
        activity_record(
            project=version.project,
            actor=membership.user,
            verb=Activity.Verb.COMMENTED,
            version=version,
            detail=f"{comment.timecode_display} {body}".strip(),
        )
        _record_event(version, kind="comments")
    return comment


def comment_edit(*, comment: Comment, membership: Membership, body: str) -> Comment:
    _require(comment.author_id == membership.user_id, "You can edit only your own comments.")
    if not body.strip():
        raise StudioError("Write a comment.", field="body")
    with transaction.atomic():
        comment.body = body.strip()
        comment.save(update_fields=["body", "updated_at"])
        _record_event(comment.version, kind="comments")
    return comment


def comment_delete(*, comment: Comment, membership: Membership) -> None:
    _require(comment.author_id == membership.user_id, "You can delete only your own comments.")
    with transaction.atomic():
        version = comment.version
        comment.delete()
        _record_event(version, kind="comments")


def comment_set_resolved(*, comment: Comment, membership: Membership, resolved: bool) -> Comment:
    _require(membership.can_comment, "Viewers can watch but not resolve comments.")
    with transaction.atomic():
        comment.resolved_at = _now() if resolved else None
        comment.resolved_by = membership.user if resolved else None
        comment.save(update_fields=["resolved_at", "resolved_by", "updated_at"])
        _record_event(comment.version, kind="comments")
    return comment


def comments_edit_instruction(comments: Iterable[Comment]) -> str:
    """An edit prompt written from review comments, each with its time range."""
    lines = []
    for comment in sorted(comments, key=lambda c: (c.start_seconds is None, c.start_seconds or 0)):
        text = _sentence(" ".join(comment.body.split()))
        lines.append(f"{comment.timecode} {text}".strip())
    return "\n".join(lines)


def review_decide(
    *, version: Version, membership: Membership, decision: str, note: str = ""
) -> Review:
    """Approve or request changes. Approving a version resolves the comments
    it was made to address."""
    _require(membership.can_review, "Only reviewers and owners can approve or request changes.")
    if decision not in Review.Decision.values:
        raise StudioError("Choose approve or request changes.", field="decision")
    if version.status != Version.Status.READY:
        raise StudioError(f"{version.label} is not ready to review.")
    with transaction.atomic():
        review = Review.objects.create(
            version=version, reviewer=membership.user, decision=decision, note=note.strip()
        )
        if decision == Review.Decision.APPROVED:
            addressed = list(version.addressed_comments.filter(resolved_at__isnull=True))
            Comment.objects.filter(pk__in=[c.pk for c in addressed]).update(
                resolved_at=_now(), resolved_by=membership.user
            )
            for parent_version in {c.version for c in addressed}:
                _record_event(parent_version, kind="comments")
        activity_record(
            project=version.project,
            actor=membership.user,
            verb=Activity.Verb.DECIDED,
            version=version,
            detail=review.get_decision_display() + (f": {review.note}" if review.note else ""),
        )
        _record_event(version, kind="decision")
    return review


def project_pick(*, project: Project, membership: Membership, version: Version | None) -> None:
    _require(membership.is_owner, "Only owners pick the project's winner.")
    if version is not None and version.status != Version.Status.READY:
        raise StudioError(f"{version.label} is not ready.")
    with transaction.atomic():
        previous = project.picked_version
        project.picked_version = version
        project.save(update_fields=["picked_version", "updated_at"])
        target = version or previous
        if target is not None:
            activity_record(
                project=project,
                actor=membership.user,
                verb=Activity.Verb.PICKED,
                version=target,
                detail="" if version else "cleared the pick",
            )
            _record_event(target, kind="pick")


# Presence: who has the project open.

PRESENCE_TIMEOUT = timedelta(seconds=90)


def presence_join(*, project_id: int, user, channel_name: str) -> None:
    with transaction.atomic():
        Presence.objects.update_or_create(
            channel_name=channel_name,
            defaults={"project_id": project_id, "user": user, "seen_at": _now()},
        )
        _project_event(project_id, kind="presence")


def presence_leave(*, channel_name: str) -> None:
    with transaction.atomic():
        presence = Presence.objects.filter(channel_name=channel_name).first()
        if presence is not None:
            presence.delete()
            _project_event(presence.project_id, kind="presence")


def presence_heartbeat(*, channel_name: str) -> None:
    Presence.objects.filter(channel_name=channel_name).update(seen_at=_now())


def viewers(project: Project) -> list:
    rows = (
        Presence.objects.filter(project=project, seen_at__gte=_now() - PRESENCE_TIMEOUT)
        .select_related("user")
        .order_by("user__username")
    )
    seen, people = set(), []
    for row in rows:
        if row.user_id not in seen:
            seen.add(row.user_id)
            people.append(row.user)
    return people


# Provenance and comparison.


def provenance(version: Version) -> dict:
    """The version's lineage, root first, with enough to reproduce the chain."""
    versions = {v.pk: v for v in version.project.versions.select_related("author")}
    chain = lineage(versions[version.pk], versions)
    inputs: dict[int, list[Asset]] = {}
    for asset_link in Version.input_assets.through.objects.filter(
        version_id__in=[v.pk for v in chain]
    ).select_related("asset"):
        inputs.setdefault(asset_link.version_id, []).append(asset_link.asset)
    return {
        "project": {"id": version.project_id, "title": version.project.title},
        "version": version.number,
        "exported_at": _now().isoformat(),
        "lineage": [
            {
                "version": v.number,
                "parent": versions[v.parent_id].number if v.parent_id else None,
                "kind": v.kind,
                "prompt": v.prompt,
                "instruction": v.instruction,
                "prompt_fields": v.prompt_fields,
                "keep_everything_else_the_same": v.keep_rest_same,
                "aspect_ratio": v.aspect_ratio,
                "resolution": v.resolution,
                "duration_seconds": v.duration_seconds,
                "engine": v.engine,
                "model": v.model,
                "interaction_id": v.interaction_id,
                "previous_interaction_id": v.previous_interaction_id,
                "route": v.route,
                "status": v.status,
                "author": v.author.get_username() if v.author else None,
                "created_at": v.created_at.isoformat(),
                "finished_at": v.finished_at.isoformat() if v.finished_at else None,
                "cost_estimate": str(v.cost_estimate),
                "cost": str(v.cost) if v.cost is not None else None,
                "usage": v.usage,
                "inputs": [
                    {
                        "kind": a.kind,
                        "name": a.original_name,
                        "sha256": a.sha256,
                        "mime_type": a.mime_type,
                    }
                    for a in inputs.get(v.pk, [])
                ],
            }
            for v in chain
        ],
    }


COMPARED_FIELDS = [
    ("kind", "Kind"),
    ("prompt", "Prompt"),
    ("instruction", "Edit"),
    ("aspect_ratio", "Aspect ratio"),
    ("resolution", "Resolution"),
    ("duration_seconds", "Duration (s)"),
    ("engine", "Engine"),
    ("model", "Model"),
    ("keep_rest_same", "Keep everything else the same"),
]


@dataclass(frozen=True)
class FieldDifference:
    label: str
    a: str
    b: str
    changed: bool
    words: list[tuple[str, str]]


def compare_versions(a: Version, b: Version, versions_by_id: dict[int, Version]) -> dict:
    """What differs between two versions, and their lineages from the
    nearest common ancestor."""
    rows = []
    fields = [*COMPARED_FIELDS] + [
        (f"prompt_fields.{key}", key.capitalize())
        for key in PROMPT_FIELDS
        if key in a.prompt_fields or key in b.prompt_fields
    ]
    for name, label in fields:
        if name.startswith("prompt_fields."):
            key = name.split(".", 1)[1]
            value_a, value_b = a.prompt_fields.get(key, ""), b.prompt_fields.get(key, "")
        else:
            value_a, value_b = getattr(a, name), getattr(b, name)
        value_a, value_b = _shown(name, value_a), _shown(name, value_b)
        rows.append(
            FieldDifference(
                label=label,
                a=value_a,
                b=value_b,
                changed=value_a != value_b,
                words=_word_diff(value_a, value_b) if value_a != value_b else [],
            )
        )
    chain_a = lineage(a, versions_by_id)
    chain_b = lineage(b, versions_by_id)
    common = None
    for x, y in zip(chain_a, chain_b, strict=False):
        if x.pk != y.pk:
            break
        common = x
    cut = chain_a.index(common) if common else -1
    return {
        "differences": rows,
        "common_ancestor": common,
        "path_a": chain_a[cut + 1 :] if common else chain_a,
        "path_b": chain_b[cut + 1 :] if common else chain_b,
    }


def _shown(name: str, value) -> str:
    if name == "kind":
        return Version.Kind(value).label
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _word_diff(a: str, b: str) -> list[tuple[str, str]]:
    """Words of a and b marked "same", "removed" or "added"."""
    words_a, words_b = a.split(), b.split()
    marked: list[tuple[str, str]] = []
    matcher = difflib.SequenceMatcher(a=words_a, b=words_b, autojunk=False)
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            marked.append(("same", " ".join(words_a[a1:a2])))
            continue
        if a1 != a2:
            marked.append(("removed", " ".join(words_a[a1:a2])))
        if b1 != b2:
            marked.append(("added", " ".join(words_b[b1:b2])))
    return marked
