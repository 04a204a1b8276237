"""Workspaces, their members and their invitations."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.utils import timezone

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
    # What the whole workspace may spend on paid generations in a calendar
    # month, in dollars; empty for no cap (projects/services/budgets.py).
    monthly_budget = models.DecimalField(
        max_digits=10, decimal_places=2, null=True, blank=True, verbose_name="Monthly budget ($)"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = WorkspaceQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_budget__gte=0), name="workspace_budget_not_negative"
            ),
        ]

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

    @property
    def is_open(self) -> bool:
        """Neither used, withdrawn nor expired."""
        return not self.accepted_at and not self.revoked_at and self.expires_at > timezone.now()
