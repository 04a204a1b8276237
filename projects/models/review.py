"""What a team says about versions: comments, decisions, the activity feed,
and who is looking."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import F, Q

if TYPE_CHECKING:
    pass

from projects.models.work import Project, Version


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
    # Written through a guest review link: the name the guest gave.
    guest_name = models.CharField(max_length=80, blank=True)
    guest_link = models.ForeignKey(
        "projects.GuestLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    start_seconds = models.FloatField(null=True, blank=True)
    end_seconds = models.FloatField(null=True, blank=True)
    # The frames those times show, at the video's frame rate (frame 0 first).
    start_frame = models.PositiveIntegerField(null=True, blank=True)
    end_frame = models.PositiveIntegerField(null=True, blank=True)
    # A drawing on the frame at start_seconds: shapes in coordinates from 0
    # to 1 of the picture (projects.services.annotations keeps them valid).
    annotation = models.JSONField(default=list, blank=True)
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
    def author_name(self) -> str:
        """Who wrote it, a guest marked as such."""
        if self.guest_name:
            return f"{self.guest_name} (guest)"
        return self.author.get_username() if self.author else "someone"

    @property
    def annotation_json(self) -> str:
        return json.dumps(self.annotation, separators=(",", ":"))

    @property
    def annotation_summary(self) -> str:
        """The drawing in words, for those who cannot see it: "a box and a pin"."""
        names = {"pin": "a pin", "box": "a box", "stroke": "a freehand line"}
        parts = [names.get(shape.get("kind"), "a shape") for shape in self.annotation]
        return " and ".join(filter(None, [", ".join(parts[:-1]), *parts[-1:]]))

    @property
    def timecode(self) -> str:
        """As the edit prompt writes it: [2s] or [0-3s]."""
        if self.start_seconds is None:
            return ""
        start = f"{self.start_seconds:g}"
        if self.end_seconds is None:
            return f"[{start}s]"
        return f"[{start}-{self.end_seconds:g}s]"

    def frame_timecode(self, fps: float) -> str:
        """The start (and end) as HH:MM:SS:FF at the video's frame rate."""
        if self.start_frame is None:
            return ""
        shown = smpte_timecode(self.start_frame, fps)
        if self.end_frame is not None:
            shown += f"–{smpte_timecode(self.end_frame, fps)}"
        return shown

    @property
    def timecode_display(self) -> str:
        if self.start_seconds is None:
            return ""
        shown = _clock(self.start_seconds)
        if self.end_seconds is not None:
            shown += f"–{_clock(self.end_seconds)}"
        return shown


def smpte_timecode(frame: int, fps: float) -> str:
    """Frame ``frame`` as HH:MM:SS:FF, counting whole seconds of the nominal
    rate (29.97 counts as 30: non-drop-frame)."""
    nominal = max(1, round(fps))
    seconds, frames = divmod(frame, nominal)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}:{frames:02d}"


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
    # Decided through a guest review link: the name the guest gave.
    guest_name = models.CharField(max_length=80, blank=True)
    guest_link = models.ForeignKey(
        "projects.GuestLink", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_decision_display()} on {self.version}"

    @property
    def reviewer_name(self) -> str:
        if self.guest_name:
            return f"{self.guest_name} (guest)"
        return self.reviewer.get_username() if self.reviewer else "someone"


class Activity(models.Model):
    class Verb(models.TextChoices):
        GENERATED = "generated", "generated"
        EDITED = "edited", "edited"
        EXTENDED = "extended", "extended"
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
    # Done through a guest review link: the name the guest gave.
    guest_name = models.CharField(max_length=80, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["project", "-created_at"], name="activity_feed_idx")]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.get_verb_display()} {self.version}"

    @property
    def actor_name(self) -> str:
        if self.guest_name:
            return f"{self.guest_name} (guest)"
        return self.actor.get_username() if self.actor else "someone"


class Presence(models.Model):
    """An open project page: one row per websocket, refreshed by heartbeats."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="presences")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    channel_name = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.user} on {self.project}"
