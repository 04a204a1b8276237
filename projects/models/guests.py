"""Guest review links: one version, or a set, shared with people who have no
account. A guest gives a name, watches, comments and decides, and reaches
nothing else."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from projects.models.work import Project, Version


class GuestLink(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="guest_links")
    versions = models.ManyToManyField(Version, related_name="guest_links")
    label = models.CharField(max_length=100, blank=True)
    # Only a digest is kept: the link is shown once, like a password.
    token_digest = models.CharField(max_length=64, unique=True)
    # A password hash (Django's hashers) when the link asks for one.
    password = models.CharField(max_length=128, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Guest link to {self.project}"

    @property
    def is_open(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()

    @property
    def has_password(self) -> bool:
        return bool(self.password)
