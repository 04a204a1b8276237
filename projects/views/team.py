"""Workspace settings (region, budgets, members, invitations; webhooks are
projects.views.webhooks') and accepting an invitation."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from projects.forms import (
    InvitationForm,
    ProjectBudgetForm,
    RoleForm,
    WebhookEndpointForm,
    WorkspaceForm,
    posted_id,
)
from projects.models import Membership
from projects.services import access, budgets, mail, team, throttle, webhooks
from projects.services.engines import engine_names
from projects.services.errors import StudioError


@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Region, budgets, members and invitations. Everyone sees it; owners
    change it."""
    membership = access.membership_for(user=request.user, workspace_id=workspace_id)
    workspace = membership.workspace
    form = WorkspaceForm(instance=workspace)
    invite_form = InvitationForm()
    new_link = ""
    status = 200
    if request.method == "POST":
        action = request.POST.get("action", "settings")
        try:
            if action == "settings":
                form = WorkspaceForm(request.POST, instance=workspace)
                if not membership.is_owner:
                    raise PermissionDenied("Only the workspace's owners can change its settings.")
                if form.is_valid():
                    form.save()
                    messages.success(request, "Workspace settings saved.")
                    return redirect("workspace_settings", workspace_id=workspace.pk)
                status = 422
            elif action == "invite":
                invite_form = InvitationForm(request.POST)
                if invite_form.is_valid():
                    invitation, token = team.invitation_create(
                        membership=membership, role=invite_form.cleaned_data["role"]
                    )
                    new_link = request.build_absolute_uri(
                        reverse("invitation_accept", args=[token])
                    )
                    if email := invite_form.cleaned_data["email"]:
                        mail.invitation_send(invitation=invitation, link=new_link, email=email)
                        messages.success(request, f"The link was sent to {email}.")
                else:
                    status = 422
            elif action in {"role", "remove"}:
                target = Membership.objects.filter(
                    pk=posted_id(request.POST.get("membership")), workspace=workspace
                ).first()
                if target is None:
                    raise Http404("No such member.")
                if action == "role":
                    role_form = RoleForm(request.POST)
                    if not role_form.is_valid():
                        raise StudioError("Choose a role.")
                    team.membership_change_role(
                        by=membership, target=target, role=role_form.cleaned_data["role"]
                    )
                    messages.success(request, f"{target.user} is now {target.role}.")
                else:
                    team.membership_remove(by=membership, target=target)
                    if target.user_id == request.user.pk:
                        messages.success(request, f"You left {workspace.name}.")
                        return redirect("project_list")
                    messages.success(request, f"{target.user} was removed.")
                return redirect("workspace_settings", workspace_id=workspace.pk)
            elif action == "project_budget":
                project = workspace.projects.filter(
                    pk=posted_id(request.POST.get("project"))
                ).first()
                if project is None:
                    raise Http404("No such project.")
                budget_form = ProjectBudgetForm(request.POST)
                if not budget_form.is_valid():
                    raise StudioError(
                        "Enter the budget in dollars (e.g. 250 or 99.50), or leave it empty."
                    )
                budgets.budget_set(
                    membership=membership,
                    project=project,
                    monthly_budget=budget_form.cleaned_data["monthly_budget"],
                )
                messages.success(request, f"{project}'s monthly budget saved.")
                return redirect("workspace_settings", workspace_id=workspace.pk)
            elif action == "revoke":
                invitation = workspace.invitations.filter(
                    pk=posted_id(request.POST.get("invitation"))
                ).first()
                if invitation is None:
                    raise Http404("No such invitation.")
                team.invitation_revoke(membership=membership, invitation=invitation)
                return redirect("workspace_settings", workspace_id=workspace.pk)
        except PermissionDenied as refused:
            messages.error(request, str(refused))
            status = 403
        except StudioError as refused:
            messages.error(request, refused.message)
            status = 422
    return settings_page(
        request,
        membership,
        status=status,
        form=form,
        invite_form=invite_form,
        new_link=new_link,
    )


def settings_page(
    request: HttpRequest, membership: Membership, *, status: int = 200, **context
) -> TemplateResponse:
    """The workspace settings page, with what the action that was posted
    has to show (a form with its errors, a link or a secret shown once)."""
    workspace = membership.workspace
    members = list(workspace.memberships.select_related("user").order_by("user__username"))
    return TemplateResponse(
        request,
        "projects/workspace_settings.html",
        {
            "form": WorkspaceForm(instance=workspace),
            "invite_form": InvitationForm(),
            "webhook_form": WebhookEndpointForm(),
            "webhooks": (
                list(webhooks.endpoints_for(membership=membership)) if membership.is_owner else []
            ),
            **context,
            "workspace": workspace,
            "membership": membership,
            "members": members,
            "owner_count": sum(m.is_owner for m in members),
            "pending": team.pending_invitations(workspace),
            "budgets": budgets.workspace_budgets(workspace=workspace),
            "workspace_budget": budgets.workspace_status(workspace=workspace),
            "roles": Membership.Role.choices,
            "quotas": throttle.quota_usage(engines=engine_names()),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = team.invitation_for_token(token)
    error = ""
    if request.method == "POST":
        try:
            membership = team.invitation_accept(token=token, user=request.user)
        except StudioError as refused:
            error = refused.message
        else:
            messages.success(request, f"You joined {membership.workspace} as {membership.role}.")
            return redirect("project_list")
    return TemplateResponse(
        request,
        "projects/invitation.html",
        {"invitation": invitation, "error": error},
        status=422 if error else 200,
    )


@require_GET
def member_names(request: HttpRequest, project_id: int) -> HttpResponse:
    """Who "@" can name in this project's comments: its workspace's members
    whose names start with ``q`` (for the comment box's suggestions)."""
    project, _ = access.project_for_user(user=request.user, project_id=project_id)
    names = team.member_names(workspace_id=project.workspace_id, prefix=request.GET.get("q", ""))
    return JsonResponse({"members": names})
