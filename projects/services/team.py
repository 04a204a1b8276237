"""Teams: a workspace for every new user, invitations, roles and removal."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from projects.models import Invitation, Membership, Presence, Workspace
from projects.services.broadcast import send_on_commit, user_group
from projects.services.errors import StudioError

INVITATION_LIFETIME = timedelta(days=7)


def workspace_create_for_new_user(*, user: AbstractBaseUser) -> Workspace:
    with transaction.atomic():
        workspace = Workspace.objects.create(name=f"{user.get_username()}'s studio")
        Membership.objects.create(user=user, workspace=workspace, role=Membership.Role.OWNER)
    return workspace


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
        expires_at=timezone.now() + INVITATION_LIFETIME,
    )
    return invitation, token


def invitation_for_token(token: str) -> Invitation:
    try:
        return Invitation.objects.select_related("workspace").get(token_digest=_token_digest(token))
    except Invitation.DoesNotExist as error:
        raise Http404("This invitation link is not valid.") from error


def invitation_accept(*, token: str, user: AbstractBaseUser) -> Membership:
    invitation = invitation_for_token(token)
    now = timezone.now()
    with transaction.atomic():
        # Conditional, so two people racing for one link cannot both join.
        taken = Invitation.objects.filter(
            pk=invitation.pk,
            accepted_at__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=now,
        ).update(accepted_at=now, accepted_by=user)
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
    Invitation.objects.filter(pk=invitation.pk, accepted_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def pending_invitations(workspace: Workspace):
    return workspace.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def _owner_count(workspace_id: int) -> int:
    return Membership.objects.filter(workspace_id=workspace_id, role=Membership.Role.OWNER).count()


def membership_change_role(*, by: Membership, target: Membership, role: str) -> Membership:
    if not by.is_owner or by.workspace_id != target.workspace_id:
        raise PermissionDenied("Only owners can change roles.")
    if role not in Membership.Role.values:
        raise StudioError("Choose a role.", field="role")
    if target.is_owner and role != Membership.Role.OWNER and _owner_count(target.workspace_id) == 1:
        raise StudioError("A workspace needs an owner: make someone else owner first.")
    with transaction.atomic():
        target.role = role
        target.save(update_fields=["role"])
        # Their open pages show the controls of the role they had.
        send_on_commit(
            user_group(target.user_id),
            {
                "type": "membership.changed",
                "user_id": target.user_id,
                "workspace_id": target.workspace_id,
            },
        )
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
        send_on_commit(
            user_group(user_id),
            {"type": "membership.revoked", "user_id": user_id, "workspace_id": workspace_id},
        )


# Names offered while typing "@" in a comment: enough to choose from.
MEMBER_NAMES_OFFERED = 8


def member_names(*, workspace_id: int, prefix: str) -> list[str]:
    """The workspace's members whose names start with ``prefix``, by name."""
    prefix = prefix.strip().lstrip("@")[:150]
    return list(
        Membership.objects.filter(workspace_id=workspace_id, user__username__istartswith=prefix)
        .order_by("user__username")
        .values_list("user__username", flat=True)[:MEMBER_NAMES_OFFERED]
    )
