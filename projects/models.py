from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


class WorkspaceQuerySet(models.QuerySet["Workspace"]):
    def for_user(self, user: AbstractBaseUser) -> WorkspaceQuerySet:
        return self.filter(memberships__user=user)


class Workspace(models.Model):
    class Region(models.TextChoices):
        # The model's policies differ by region (see the seeds): in the EEA,
        # Switzerland and the UK uploaded videos cannot be edited.
        GLOBAL = "global", "Rest of world"
        EEA = "eea", "European Economic Area"
        SWITZERLAND = "ch", "Switzerland"
        UK = "uk", "United Kingdom"

    name = models.CharField(max_length=120)
    region = models.CharField(max_length=8, choices=Region, default=Region.GLOBAL)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return self.name

    @property
    def restricts_minors_and_uploaded_video(self) -> bool:
        """The model's policy in the EEA, Switzerland and the UK: no editing
        of uploaded videos, and no images that depict minors."""
        return self.region in {self.Region.EEA, self.Region.SWITZERLAND, self.Region.UK}


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        EDITOR = "editor", "Editor"
        REVIEWER = "reviewer", "Reviewer"
        VIEWER = "viewer", "Viewer"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role, default=Role.EDITOR)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="membership_unique_user"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.workspace} ({self.role})"

    @property
    def can_generate(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.EDITOR}

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER

    @property
    def can_manage_projects(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.EDITOR}

    @property
    def can_comment(self) -> bool:
        return self.role != self.Role.VIEWER

    @property
    def can_review(self) -> bool:
        return self.role in {self.Role.OWNER, self.Role.REVIEWER}


class Invitation(models.Model):
    """A single-use, expiring link that makes its holder a member."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Membership.Role, default=Membership.Role.EDITOR)
    # Only a digest is kept: the link is shown once, like a password.
    token_digest = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Invitation to {self.workspace} as {self.role}"


class ProjectQuerySet(models.QuerySet["Project"]):
    def for_user(self, user: AbstractBaseUser) -> ProjectQuerySet:
        return self.filter(workspace__memberships__user=user)


class Project(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="projects")
    title = models.CharField(max_length=200)
    default_aspect_ratio = models.CharField(max_length=8, default="16:9")
    default_engine = models.CharField(max_length=32, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Numbers handed out to versions (v1, v2, ...) and to progress events, so
    # a browser can tell it missed one.
    last_version_number = models.PositiveIntegerField(default=0)
    event_seq = models.PositiveBigIntegerField(default=0)
    # The owner's choice among the versions: the project's winner.
    picked_version = models.ForeignKey(
        "Version", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("project_detail", args=[self.pk])


class Asset(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        VIDEO = "video", "Video"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="assets")
    kind = models.CharField(max_length=8, choices=Kind)
    file = models.FileField(upload_to="assets/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    mime_type = models.CharField(max_length=64)
    size_bytes = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    duration_seconds = models.FloatField(null=True, blank=True)
    codec = models.CharField(max_length=32, blank=True)
    sha256 = models.CharField(max_length=64)
    # The engine's handle for the file (a Files API uri) and when it expires.
    remote_uri = models.CharField(max_length=500, blank=True)
    remote_expires_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.original_name or self.file.name


class VersionQuerySet(models.QuerySet["Version"]):
    def for_user(self, user: AbstractBaseUser) -> VersionQuerySet:
        return self.filter(project__workspace__memberships__user=user)

    def unfinished(self) -> VersionQuerySet:
        return self.filter(status__in=Version.Status.unfinished())

    def for_tree(self) -> VersionQuerySet:
        """Everything the tree shows, in one query."""
        return (
            self.select_related("author")
            .annotate(parent_number=F("parent__number"))
            .order_by("number")
        )


class Version(models.Model):
    class Kind(models.TextChoices):
        TEXT_TO_VIDEO = "text_to_video", "Text to video"
        IMAGE_TO_VIDEO = "image_to_video", "Image to video"
        REFERENCE_TO_VIDEO = "reference_to_video", "Reference to video"
        EDIT = "edit", "Edit"
        UPLOAD = "upload", "Upload"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SUBMITTING = "submitting", "Submitting"
        GENERATING = "generating", "Generating"
        SAVING = "saving", "Saving"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        BLOCKED = "blocked", "Blocked"
        CANCELLED = "cancelled", "Cancelled"
        # Crashed between paying for a submission and recording its id: a
        # person decides, because submitting again could pay twice.
        RECONCILE = "reconcile", "Needs a decision"

        @classmethod
        def unfinished(cls) -> list[str]:
            return [cls.QUEUED, cls.SUBMITTING, cls.GENERATING, cls.SAVING]

        @classmethod
        def finished(cls) -> list[str]:
            return [cls.READY, cls.FAILED, cls.BLOCKED, cls.CANCELLED, cls.RECONCILE]

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="versions")
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="children"
    )
    number = models.PositiveIntegerField()
    kind = models.CharField(max_length=24, choices=Kind)

    # What was asked: the prompt sent to the engine, what the user typed for an
    # edit, and the composer's structured fields.
    prompt = models.TextField()
    instruction = models.TextField(blank=True)
    prompt_fields = models.JSONField(default=dict, blank=True)
    keep_rest_same = models.BooleanField(default=False)
    template = models.CharField(max_length=32, blank=True)
    aspect_ratio = models.CharField(max_length=8)
    resolution = models.CharField(max_length=8)
    duration_seconds = models.PositiveSmallIntegerField()
    input_assets = models.ManyToManyField(Asset, blank=True, related_name="versions")
    # Review comments on the parent that this edit set out to address.
    addressed_comments = models.ManyToManyField("Comment", blank=True, related_name="addressed_by")

    engine = models.CharField(max_length=32)
    model = models.CharField(max_length=100, blank=True)
    interaction_id = models.CharField(max_length=200, blank=True, db_index=True)
    previous_interaction_id = models.CharField(max_length=200, blank=True)
    # Interactions of earlier attempts that failed at the engine.
    abandoned_interaction_ids = models.JSONField(default=list, blank=True)
    route = models.CharField(max_length=100, blank=True)
    engine_note = models.CharField(max_length=300, blank=True)
    output_uri = models.CharField(max_length=1000, blank=True)

    status = models.CharField(max_length=16, choices=Status, default=Status.QUEUED)
    # The project's event numbers at this version's last change and at its
    # creation, so a browser that missed events can ask for everything since
    # the last one it saw, and tell new versions from changed ones.
    event_seq = models.PositiveBigIntegerField(default=0)
    created_seq = models.PositiveBigIntegerField(default=0)
    progress = models.FloatField(null=True, blank=True)
    error_kind = models.CharField(max_length=32, blank=True)
    error_message = models.TextField(blank=True)
    retry_at = models.DateTimeField(null=True, blank=True)
    transient_failures = models.PositiveSmallIntegerField(default=0)

    # Who may advance this version: the worker holding an unexpired lease
    # whose fence matches. Every claim bumps the fence, so a stale worker's
    # conditional writes match no row.
    lease_until = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveIntegerField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)

    video = models.FileField(upload_to="versions/%Y/%m/", blank=True)
    poster = models.FileField(upload_to="versions/%Y/%m/", blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    video_duration = models.FloatField(null=True, blank=True)
    video_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    has_audio = models.BooleanField(default=False)
    # The video's handle at the engine once uploaded for an edit (Files API).
    video_remote_uri = models.CharField(max_length=500, blank=True)
    video_remote_expires_at = models.DateTimeField(null=True, blank=True)

    usage = models.JSONField(default=dict, blank=True)
    cost_estimate = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    cost = models.DecimalField(max_digits=10, decimal_places=4, null=True, blank=True)

    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="versions"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    # Written immediately before the paid call of this attempt (and
    # committed): a worker that dies before it is written never paid, so the
    # version is submitted again without asking anyone.
    paid_call_started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = VersionQuerySet.as_manager()

    class Meta:
        ordering = ["project", "number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="version_unique_number"),
            models.CheckConstraint(
                condition=Q(duration_seconds__gte=1) & Q(duration_seconds__lte=60),
                name="version_duration_range",
            ),
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | (Q(progress__gte=0) & Q(progress__lte=1)),
                name="version_progress_fraction",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_until"], name="version_sweep_idx"),
            # Progress estimates: the latest finished versions of a kind.
            models.Index(
                fields=[
                    "engine",
                    "model",
                    "resolution",
                    "duration_seconds",
                    "status",
                    "finished_at",
                ],
                name="version_estimate_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.project} v{self.number}"

    def get_absolute_url(self) -> str:
        return reverse("version_detail", args=[self.project_id, self.number])

    @property
    def label(self) -> str:
        return f"v{self.number}"

    @property
    def is_unfinished(self) -> bool:
        return self.status in self.Status.unfinished()

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def can_cancel(self) -> bool:
        return self.status in {*self.Status.unfinished(), self.Status.RECONCILE}

    @property
    def can_retry(self) -> bool:
        return self.status in {self.Status.FAILED, self.Status.CANCELLED} or (
            self.status == self.Status.BLOCKED and self.error_kind != "not_understood"
        )


class CommentQuerySet(models.QuerySet["Comment"]):
    def in_time_order(self) -> CommentQuerySet:
        """By timecode (untimed last), then by when they were written."""
        return self.order_by(F("start_seconds").asc(nulls_last=True), "created_at", "pk")


class Comment(models.Model):
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    # A reply belongs to a top-level comment and has no timecode of its own.
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="replies"
    )
    body = models.TextField()
    start_seconds = models.FloatField(null=True, blank=True)
    end_seconds = models.FloatField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start_seconds__isnull=True) | Q(start_seconds__gte=0),
                name="comment_start_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(end_seconds__isnull=True)
                | (Q(start_seconds__isnull=False) & Q(end_seconds__gt=F("start_seconds"))),
                name="comment_range_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"Comment on {self.version}"

    @property
    def is_resolved(self) -> bool:
        return self.resolved_at is not None

    @property
    def timecode(self) -> str:
        """As the edit prompt writes it: [2s] or [0-3s]."""
        if self.start_seconds is None:
            return ""
        start = f"{self.start_seconds:g}"
        if self.end_seconds is None:
            return f"[{start}s]"
        return f"[{start}-{self.end_seconds:g}s]"

    @property
    def timecode_display(self) -> str:
        if self.start_seconds is None:
            return ""
        shown = _clock(self.start_seconds)
        if self.end_seconds is not None:
            shown += f"–{_clock(self.end_seconds)}"
        return shown


def _clock(seconds: float) -> str:
    whole = int(seconds)
    tenths = round((seconds - whole) * 10)
    if tenths == 10:
        whole, tenths = whole + 1, 0
    text = f"{whole // 60}:{whole % 60:02d}"
    return f"{text}.{tenths}" if tenths else text


class Review(models.Model):
    class Decision(models.TextChoices):
        APPROVED = "approved", "Approved"
        CHANGES_REQUESTED = "changes_requested", "Changes requested"

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    decision = models.CharField(max_length=20, choices=Decision)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.version}"


class Activity(models.Model):
    class Verb(models.TextChoices):
        GENERATED = "generated", "generated"
        EDITED = "edited", "edited"
        UPLOADED = "uploaded", "uploaded"
        COMMENTED = "commented", "commented on"
        DECIDED = "decided", "reviewed"
        PICKED = "picked", "picked"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="activities")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    verb = models.CharField(max_length=16, choices=Verb)
    version = models.ForeignKey(
        Version, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"], name="activity_feed_idx")]

    def __str__(self) -> str:
        return f"{self.actor} {self.get_verb_display()} {self.version}"


class Presence(models.Model):
    """An open project page: one row per websocket, refreshed by heartbeats."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} on {self.project}"


# The JSON API (projects/api/): tokens and idempotent creation.


class ApiToken(models.Model):
    """A bearer token for the API. Only its digest is kept: the token is
    shown once, like a password."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    token_digest = models.CharField(max_length=64, unique=True)
    # The token's first characters, so a person can tell their tokens apart.
    prefix = models.CharField(max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class IdempotencyRecord(models.Model):
    """The response to a create request sent with an Idempotency-Key, so a
    retry gets the same answer instead of a second object."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    # sha256 of the method, path and body: the same key with another request
    # is refused.
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = models.JSONField(default=dict)
    object_id = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key"),
        ]

    def __str__(self) -> str:
        return f"Idempotency key {self.key!r} of {self.user}"


# Housekeeping (projects/services/housekeeping.py): every worker process runs
# it; these rows are how the processes share the schedule and see each other.


class WorkerHeartbeat(models.Model):
    """A task worker process still alive: written by its housekeeping thread."""

    worker_id = models.CharField(max_length=64, unique=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    seen_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"Worker {self.worker_id} on {self.host or 'an unknown host'}"


class HousekeepingRun(models.Model):
    """When a housekeeping job is next due; whichever worker moves
    ``next_run_at`` forward first runs it."""

    job = models.CharField(max_length=40, unique=True)
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_worker_id = models.CharField(max_length=64, blank=True)
    last_summary = models.CharField(max_length=500, blank=True)

    def __str__(self) -> str:
        return f"Housekeeping job {self.job}"
