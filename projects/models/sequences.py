"""Sequences: versions cut at in and out points and joined in order (with
cuts or crossfades) into one video, and the renders made of them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse

# A crossfade lasts this long, in seconds.
CROSSFADE_MIN_SECONDS = 0.1
CROSSFADE_MAX_SECONDS = 2.0


class Sequence(models.Model):
    class AspectRatio(models.TextChoices):
        LANDSCAPE = "16:9", "16:9 (landscape)"
        PORTRAIT = "9:16", "9:16 (portrait)"
        SQUARE = "1:1", "1:1 (square)"

    class Resolution(models.TextChoices):
        SD = "480p", "480p"
        HD = "720p", "720p"
        FULL_HD = "1080p", "1080p"

    project = models.ForeignKey(
        "projects.Project", on_delete=models.CASCADE, related_name="sequences"
    )
    title = models.CharField(max_length=200)
    aspect_ratio = models.CharField(
        max_length=8, choices=AspectRatio, default=AspectRatio.LANDSCAPE
    )
    resolution = models.CharField(max_length=8, choices=Resolution, default=Resolution.HD)
    fps = models.PositiveSmallIntegerField(default=24)
    # Numbers handed out to renders (r1, r2, ...).
    last_render_number = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(aspect_ratio__in=["16:9", "9:16", "1:1"]),
                name="sequence_aspect_ratio_known",
            ),
            models.CheckConstraint(condition=Q(fps__in=[12, 24, 30]), name="sequence_fps_known"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("sequence_detail", args=[self.project_id, self.pk])


class SequenceClip(models.Model):
    class Transition(models.TextChoices):
        CUT = "cut", "Cut"
        CROSSFADE = "crossfade", "Crossfade"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="clips")
    # From 0, in the order the clips play.
    position = models.PositiveSmallIntegerField()
    version = models.ForeignKey("projects.Version", on_delete=models.CASCADE, related_name="+")
    # Seconds within the version's video.
    in_seconds = models.FloatField(default=0)
    out_seconds = models.FloatField()
    # Into the next clip (the last clip's is not used).
    transition = models.CharField(max_length=12, choices=Transition, default=Transition.CUT)
    transition_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["sequence", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "position"], name="sequence_clip_unique_position"
            ),
            models.CheckConstraint(
                condition=Q(in_seconds__gte=0) & Q(out_seconds__gt=models.F("in_seconds")),
                name="sequence_clip_in_before_out",
            ),
            models.CheckConstraint(
                condition=(Q(transition="cut") & Q(transition_seconds=0))
                | (
                    Q(transition="crossfade")
                    & Q(transition_seconds__gte=CROSSFADE_MIN_SECONDS)
                    & Q(transition_seconds__lte=CROSSFADE_MAX_SECONDS)
                ),
                name="sequence_clip_transition_length",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} #{self.position + 1}"

    @property
    def seconds(self) -> float:
        return self.out_seconds - self.in_seconds


class SequenceRender(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RENDERING = "rendering", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="renders")
    number = models.PositiveIntegerField()
    # The clips as they were when the render was asked for, in order:
    # {"version": id, "number": its number, "in", "out", "transition",
    #  "transition_seconds", "starts_at": seconds into the render, "frames",
    #  "width" and "height" of the version's picture (not in renders made
    #  before drawings on renders: their versions' sizes are used)}.
    clips = models.JSONField(default=list)
    aspect_ratio = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    fps = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=12, choices=Status, default=Status.QUEUED)
    progress = models.FloatField(null=True, blank=True)
    error_message = models.TextField(blank=True)
    # Who is rendering it: the worker holding an unexpired lease whose fence
    # matches (as for versions); housekeeping resumes a render whose lease
    # ran out.
    lease_until = models.DateTimeField(null=True, blank=True)
    fence = models.PositiveIntegerField(default=0)
    video = models.FileField(upload_to="sequences/%Y/%m/", blank=True)
    video_bytes = models.PositiveBigIntegerField(null=True, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["sequence", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "number"], name="sequence_render_unique_number"
            ),
            models.CheckConstraint(
                condition=Q(progress__isnull=True) | (Q(progress__gte=0) & Q(progress__lte=1)),
                name="sequence_render_progress_fraction",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_until"], name="sequence_render_sweep_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.sequence} {self.label}"

    @property
    def label(self) -> str:
        return f"r{self.number}"

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.READY

    @property
    def is_unfinished(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RENDERING}

    @property
    def percent(self) -> int | None:
        return None if self.progress is None else round(self.progress * 100)
