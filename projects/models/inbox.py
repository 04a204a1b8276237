"""Each member's inbox: what the team did that concerns them (a mention, a
reply, a decision on their version, their generation finished or failed),
and whether they want it mailed as a digest."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class NotificationQuerySet(models.QuerySet["Notification"]):
    def for_user(self, user) -> NotificationQuerySet:
        """The user's own, in workspaces they still belong to."""
        return self.filter(recipient=user, project__workspace__memberships__user=user)

    def unread(self) -> NotificationQuerySet:
        return self.filter(read_at__isnull=True)


class Notification(models.Model):
    class Kind(models.TextChoices):
        MENTION = "mention", "mentioned you"
        REPLY = "reply", "replied"
        DECISION = "decision", "reviewed your version"
        VERSION_READY = "version_ready", "is ready"
        VERSION_FAILED = "version_failed", "failed"
        VERSION_BLOCKED = "version_blocked", "was blocked"
        NEEDS_DECISION = "needs_decision", "needs a decision"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(max_length=20, choices=Kind)
    project = models.ForeignKey("projects.Project", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey(
        "projects.Version", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    comment = models.ForeignKey(
        "projects.Comment", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Who did it as shown: a member's name, or a guest's marked as such.
    actor_name = models.CharField(max_length=100, blank=True)
    # What was said or what happened, in a line.
    text = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            # One notification per comment per person: a reply that also
            # mentions them is one entry, an edit that keeps a mention adds none.
            models.UniqueConstraint(
                fields=["recipient", "comment"],
                condition=Q(comment__isnull=False),
                name="notification_once_per_comment",
            ),
        ]
        indexes = [
            models.Index(fields=["recipient", "-created_at"], name="notification_inbox_idx"),
            models.Index(
                fields=["recipient"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.recipient}"

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def headline(self) -> str:
        """The entry in words: "anna mentioned you on v3"."""
        label = f"v{self.version.number}" if self.version_id else self.project.title
        who = self.actor_name or "someone"
        match self.kind:
            case self.Kind.MENTION:
                return f"{who} mentioned you on {label}"
            case self.Kind.REPLY:
                return f"{who} replied on {label}"
            case self.Kind.DECISION:
                return f"{who} reviewed your {label}"
        return f"Your {label} {self.get_kind_display()}"


class InboxSettings(models.Model):
    class Digest(models.TextChoices):
        OFF = "off", "Off"
        HOURLY = "hourly", "Hourly"
        DAILY = "daily", "Daily"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="inbox_settings"
    )
    # Unread notifications mailed together, at most this often (opt-in).
    email_digest = models.CharField(max_length=8, choices=Digest, default=Digest.OFF)
    last_digest_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "inbox settings"

    def __str__(self) -> str:
        return f"Inbox settings of {self.user}"
