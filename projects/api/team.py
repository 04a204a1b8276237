"""The API's team: a workspace's members and roles, and its invitations
(owners change them; every member sees the members)."""

from django.http import Http404, HttpRequest
from django.urls import reverse
from ninja import Router, Status

from projects.api.common import READ_ERRORS, WRITE_ERRORS, RowId, request_user
from projects.api.schemas import ErrorOut, InvitationIn, InvitationOut, MemberOut, RoleIn
from projects.models import Membership
from projects.services import access, mail, team

router = Router(tags=["team"])


def _one(queryset, missing: str, **lookup):
    found = queryset.filter(**lookup).first()
    if found is None:
        raise Http404(missing)
    return found


def _membership(request: HttpRequest, workspace_id: int) -> Membership:
    return access.membership_for(user=request_user(request), workspace_id=workspace_id)


def _member_out(member: Membership) -> dict:
    return {
        "id": member.pk,
        "username": member.user.get_username(),
        "email": member.user.email,
        "role": member.role,
        "joined_at": member.created_at,
    }


def _target(membership: Membership, member_id: int) -> Membership:
    return _one(
        Membership.objects.select_related("user"),
        "No such member.",
        pk=member_id,
        workspace=membership.workspace,
    )


@router.get("/workspaces/{workspace_id}/members", response={200: list[MemberOut], **READ_ERRORS})
def member_list(request: HttpRequest, workspace_id: int = RowId):
    """The workspace's members and their roles."""
    membership = _membership(request, workspace_id)
    members = membership.workspace.memberships.select_related("user").order_by("user__username")
    return [_member_out(m) for m in members]


@router.patch(
    "/workspaces/{workspace_id}/members/{member_id}",
    response={200: MemberOut, **WRITE_ERRORS},
)
def member_change_role(
    request: HttpRequest, payload: RoleIn, workspace_id: int = RowId, member_id: int = RowId
):
    """Give a member another role (owners)."""
    membership = _membership(request, workspace_id)
    target = _target(membership, member_id)
    team.membership_change_role(by=membership, target=target, role=payload.role)
    return _member_out(target)


@router.delete(
    "/workspaces/{workspace_id}/members/{member_id}", response={204: None, **WRITE_ERRORS}
)
def member_remove(request: HttpRequest, workspace_id: int = RowId, member_id: int = RowId):
    """Remove a member (owners); their open pages and streams end at once."""
    membership = _membership(request, workspace_id)
    team.membership_remove(by=membership, target=_target(membership, member_id))
    return Status(204, None)


@router.get(
    "/workspaces/{workspace_id}/invitations",
    response={200: list[InvitationOut], 403: ErrorOut, **READ_ERRORS},
)
def invitation_list(request: HttpRequest, workspace_id: int = RowId):
    """Invitations not yet used, withdrawn or expired (owners)."""
    membership = _membership(request, workspace_id)
    access.require(membership.is_owner, "Only owners see the workspace's invitations.")
    return [_invitation_out(i) for i in team.pending_invitations(membership.workspace)]


@router.post(
    "/workspaces/{workspace_id}/invitations", response={201: InvitationOut, **WRITE_ERRORS}
)
def invitation_create(request: HttpRequest, payload: InvitationIn, workspace_id: int = RowId):
    """A single-use link that makes its holder a member with the role (owners);
    the link is in this answer only, and mailed to `email` when given."""
    membership = _membership(request, workspace_id)
    invitation, token = team.invitation_create(membership=membership, role=payload.role)
    link = request.build_absolute_uri(reverse("invitation_accept", args=[token]))
    if payload.email:
        mail.invitation_send(invitation=invitation, link=link, email=payload.email)
    return Status(201, _invitation_out(invitation, link=link))


@router.delete(
    "/workspaces/{workspace_id}/invitations/{invitation_id}",
    response={204: None, **WRITE_ERRORS},
)
def invitation_revoke(request: HttpRequest, workspace_id: int = RowId, invitation_id: int = RowId):
    """Withdraw an invitation (owners)."""
    membership = _membership(request, workspace_id)
    invitation = _one(
        membership.workspace.invitations.all(), "No such invitation.", pk=invitation_id
    )
    team.invitation_revoke(membership=membership, invitation=invitation)
    return Status(204, None)


def _invitation_out(invitation, *, link: str | None = None) -> dict:
    return {
        "id": invitation.pk,
        "role": invitation.role,
        "created_at": invitation.created_at,
        "expires_at": invitation.expires_at,
        "link": link,
    }
