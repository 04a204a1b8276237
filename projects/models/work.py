"""Projects, the stills and clips uploaded to them, and their versions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

from projects.models.team import Workspace


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
    # What this project may spend in a calendar month, in dollars; empty for
    # no cap of its own (the workspace's still holds).
    monthly_budget = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)

    objects = ProjectQuerySet.as_manager()

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(monthly_budget__gte=0), name="project_budget_not_negative"
            ),
        ]

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
        EXTEND = "extend", "Extend"

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
    # Frames per second: asked for (12, 24 or 30) or kept from the parent,
    # then the rate measured in the saved video (an upload's may be 29.97).
    fps = models.FloatField(default=24)
    # What the engine draws its randomness from, chosen by the studio for
    # variations and re-runs (so each differs); none: the engine's own.
    seed = models.PositiveIntegerField(null=True, blank=True)
    # For an edit made from a comment drawn on the frame: where it applies
    # (x, y, w, h from 0 to 1, and "at", the seconds it was drawn at).
    region = models.JSONField(null=True, blank=True)
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
    # What this version holds of its month's budget: the estimate while it
    # may still be charged, what it cost once it is done.
    # An edit of a clip longer than its engine makes: the section edited
    # starts here (seconds into the parent) and lasts duration_seconds; the
    # rest of the parent is kept as it is.
    section_start = models.FloatField(null=True, blank=True)
    # An extension: the seconds the engine made after the parent's last
    # frame (what is estimated and billed). Its video is the parent and
    # those seconds stitched, so duration_seconds is the whole, as for any
    # version, and video_duration what was measured in it.
    extend_seconds = models.PositiveSmallIntegerField(null=True, blank=True)
    budget_held = models.DecimalField(max_digits=10, decimal_places=4, default=0)
    budget_month = models.DateField(null=True, blank=True)

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
                condition=Q(fps__gt=0) & Q(fps__lte=240), name="version_fps_range"
            ),
            models.CheckConstraint(
                condition=Q(extend_seconds__isnull=True)
                | (Q(extend_seconds__gte=1) & Q(extend_seconds__lte=60)),
                name="version_extend_range",
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
    def region_said(self) -> str:
        """The region an edit applied in, as a person reads it."""
        if not self.region:
            return ""
        r = self.region
        at = f", drawn at {r['at']:g} s" if r.get("at") is not None else ""
        return (
            f"x {r['x']:.0%}–{r['x'] + r['w']:.0%}, y {r['y']:.0%}–{r['y'] + r['h']:.0%} "
            f"of the picture{at}"
        )

    @property
    def generated_seconds(self) -> int:
        """What the engine is asked to make: an extension's seconds, else
        the version's duration."""
        return self.extend_seconds or self.duration_seconds

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
