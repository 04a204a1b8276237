from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseLocation

from projects import services
from projects.forms import (
    CommentForm,
    EditForm,
    GenerateForm,
    InvitationForm,
    ProjectForm,
    ReconcileForm,
    ReviewForm,
    RoleForm,
    SignupForm,
    UploadForm,
    WorkspaceForm,
)
from projects.media import MediaError, ranged_file_response, sniff_video_container
from projects.models import Activity, Asset, Comment, Membership, Project, Review, Version
from projects.services import StudioError


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseLocation(url)
    return redirect(url)


# Accounts.


@login_not_required
@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        with transaction.atomic():
            user = form.save()
            services.workspace_create_for_new_user(user=user)
        login(request, user)
        return redirect("project_list")
    return TemplateResponse(request, "registration/signup.html", {"form": form})


# Projects.


def _memberships(request: HttpRequest) -> list[Membership]:
    return list(
        Membership.objects.filter(user=request.user)
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )


@require_GET
def project_list(request: HttpRequest) -> HttpResponse:
    memberships = _memberships(request)
    projects = (
        Project.objects.for_user(request.user)
        .select_related("workspace")
        .order_by("-updated_at", "-pk")
    )
    current = None
    if workspace_id := request.GET.get("workspace", ""):
        current = next((m for m in memberships if str(m.workspace_id) == workspace_id), None)
        if current is None:
            raise Http404("No such workspace.")
        projects = projects.filter(workspace_id=current.workspace_id)
    return TemplateResponse(
        request,
        "projects/project_list.html",
        {
            "memberships": memberships,
            "projects": projects,
            "form": ProjectForm(),
            "current": current,
        },
    )


@require_POST
def project_create(request: HttpRequest) -> HttpResponse:
    memberships = _memberships(request)
    form = ProjectForm(request.POST)
    workspace_id = request.POST.get("workspace") or (
        memberships[0].workspace_id if memberships else 0
    )
    try:
        membership = services.membership_for(user=request.user, workspace_id=int(workspace_id))
    except ValueError as error:
        raise Http404("No such workspace.") from error
    if form.is_valid():
        try:
            project = services.project_create(
                user=request.user, membership=membership, title=form.cleaned_data["title"]
            )
        except StudioError as error:
            form.add_error(None, error.message)
        else:
            return _redirect(request, project.get_absolute_url())
    projects = Project.objects.for_user(request.user).select_related("workspace")
    return TemplateResponse(
        request,
        "projects/project_list.html",
        {"memberships": memberships, "projects": projects, "form": form},
        status=400,
    )


@require_http_methods(["GET", "POST"])
def project_rename(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    form = ProjectForm(request.POST or None, instance=project)
    if request.method == "POST" and form.is_valid():
        try:
            services.project_rename(
                project=project, membership=membership, title=form.cleaned_data["title"]
            )
        except StudioError as error:
            form.add_error(None, error.message)
        else:
            if request.htmx:
                return TemplateResponse(
                    request, "projects/project_detail.html#project_title", {"project": project}
                )
            return redirect(project)
    project.refresh_from_db(fields=["title"])
    return TemplateResponse(
        request,
        "projects/project_rename.html",
        {"project": project, "form": form},
        status=400 if request.method == "POST" else 200,
    )


@require_http_methods(["GET", "POST"])
def project_delete(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    error = ""
    if request.method == "POST":
        try:
            services.project_delete(project=project, membership=membership)
        except StudioError as refused:
            error = refused.message
        else:
            messages.success(request, f"Deleted “{project.title}”.")
            return _redirect(request, "/")
    return TemplateResponse(
        request,
        "projects/project_confirm_delete.html",
        {"project": project, "error": error, "version_count": project.versions.count()},
        status=403 if error else 200,
    )


def _project_page_context(
    request: HttpRequest,
    project: Project,
    membership: Membership,
    *,
    number: int | None = None,
    generate_form: GenerateForm | None = None,
    edit_form: EditForm | None = None,
) -> dict:
    versions = list(project.versions.for_tree())
    by_id = {v.pk: v for v in versions}
    by_number = {v.number: v for v in versions}
    if number is not None and number not in by_number:
        raise Http404("No such version.")
    selected = by_number.get(number) if number is not None else (versions[-1] if versions else None)
    nodes = services.flatten_tree(services.version_tree(versions))
    _attach_progress(versions)
    _attach_decisions(project, versions)
    if selected is not None:
        selected.lineage = services.lineage(selected, by_id)
        selected.parent_version = by_id.get(selected.parent_id)
        selected.assets = list(selected.input_assets.all())
        selected.child_count = sum(1 for v in versions if v.parent_id == selected.pk)
        selected.addressed = list(selected.addressed_comments.all())
        _attach_review(selected)
    if edit_form is None and selected is not None:
        edit_form = EditForm(parent=selected)
    return {
        "project": project,
        "membership": membership,
        "nodes": nodes,
        "selected": selected,
        "generate_form": generate_form or GenerateForm(project=project),
        "upload_form": UploadForm(),
        "edit_form": edit_form,
        "reconcile_form": ReconcileForm(),
        "event_seq": project.event_seq,
        "project_cost": sum((v.cost or 0) for v in versions),
        "branches": _branches(nodes),
        "activities": _activities(project),
        "viewers": services.viewers(project),
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
    }


@require_GET
def project_detail(
    request: HttpRequest, project_id: int, number: int | None = None
) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    context = _project_page_context(request, project, membership, number=number)
    if request.htmx and request.htmx.target == "version-panel":
        return TemplateResponse(request, "projects/project_detail.html#version_panel", context)
    return TemplateResponse(request, "projects/project_detail.html", context)


@require_GET
def composer(request: HttpRequest, project_id: int) -> HttpResponse:
    """The generate form again: for another engine or template, or with the
    prompt written from the structured fields."""
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    initial = {key: request.GET.get(key) for key in request.GET if key != "image"}
    initial.setdefault("engine", project.default_engine)
    template = services.TASK_TEMPLATES.get(request.GET.get("template", ""))
    if template is not None and "assemble" not in request.GET:
        initial.update(template.fields, template=template.key, mode=template.mode)
    if "assemble" in request.GET:
        initial["prompt"] = services.prompt_from_fields(
            {name: request.GET.get(name, "") for name in services.PROMPT_FIELDS}
        )
    form = GenerateForm(initial=initial, project=project)
    return TemplateResponse(
        request,
        "projects/project_detail.html#composer",
        {"project": project, "membership": membership, "generate_form": form},
    )


@require_POST
def version_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    form = GenerateForm(request.POST, request.FILES, project=project)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                assets = _generation_assets(request, form, project, membership)
                version = services.version_create(
                    project=project,
                    membership=membership,
                    author=request.user,
                    kind=form.kind,
                    prompt=data["prompt"],
                    prompt_fields=data["prompt_fields"],
                    template=data.get("template") or "",
                    aspect_ratio=data["aspect_ratio"],
                    resolution=data["resolution"],
                    duration_seconds=data["duration_seconds"],
                    engine=data["engine"],
                    assets=assets,
                )
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            return _form_errors(request, project, membership, status=403, generate_form=form)
        else:
            return _redirect(request, version.get_absolute_url())
    return _form_errors(request, project, membership, generate_form=form)


def _generation_assets(request, form: GenerateForm, project, membership) -> list[Asset]:
    """Store the files a generation uses; any refusal undoes them all."""
    data = form.cleaned_data
    confirmed = data.get("confirm_no_minors", False)
    uploads = []
    if form.kind == Version.Kind.IMAGE_TO_VIDEO:
        uploads = [data["image"]]
    elif form.kind == Version.Kind.REFERENCE_TO_VIDEO:
        uploads = data["references"]
    assets = []
    for upload in uploads:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if sniff_video_container(head):
            assets.append(
                services.asset_create_video(
                    project=project, membership=membership, user=request.user, upload=upload
                )
            )
            continue
        try:
            assets.append(
                services.asset_create_image(
                    project=project,
                    membership=membership,
                    user=request.user,
                    upload=upload,
                    confirmed_no_minors=confirmed,
                )
            )
        except MediaError as error:
            name = upload.name or "a file"
            raise StudioError(f"{name}: {error}", field="references") from error
    return assets


@require_POST
def version_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    form = UploadForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            version = services.version_create_upload(
                project=project,
                membership=membership,
                author=request.user,
                upload=form.cleaned_data["clip"],
            )
        except (StudioError, MediaError, PermissionDenied) as error:
            form.add_error("clip", getattr(error, "message", str(error)))
        else:
            return _redirect(request, version.get_absolute_url())
    if request.htmx:
        return TemplateResponse(
            request,
            "projects/project_detail.html#upload_form",
            {"project": project, "membership": membership, "upload_form": form},
            status=422,
        )
    context = _project_page_context(request, project, membership)
    context["upload_form"] = form
    return TemplateResponse(request, "projects/project_detail.html", context, status=400)


@require_GET
def cost_estimate(request: HttpRequest, project_id: int) -> HttpResponse:
    """The price of a generation before it is submitted."""
    project, _ = services.project_for_user(user=request.user, project_id=project_id)
    form = GenerateForm(request.GET, project=project)
    try:
        duration = int(request.GET.get("duration_seconds", "0"))
    except ValueError:
        duration = 0
    estimate = services.cost_estimate(
        engine=form.capabilities.name,
        resolution=request.GET.get("resolution", ""),
        duration_seconds=duration,
    )
    return TemplateResponse(
        request,
        "projects/project_detail.html#estimate",
        {"estimate": estimate, "capabilities": form.capabilities},
    )


def _form_errors(request, project, membership, *, status: int = 422, **forms) -> HttpResponse:
    """The form again with its messages: the fragment for htmx, else the page."""
    if request.htmx:
        name = "composer" if "generate_form" in forms else "edit_form"
        context = {"project": project, "membership": membership, **forms}
        if "edit_form" in forms:
            context["selected"] = forms.pop("selected")
        return TemplateResponse(
            request, f"projects/project_detail.html#{name}", context, status=status
        )
    for form in forms.values():
        if hasattr(form, "non_field_errors"):
            for error in form.non_field_errors():
                # Shown on the page even where the form itself is not (a
                # viewer has no composer).
                messages.error(request, error)
    number = forms.pop("selected").number if "selected" in forms else None
    context = _project_page_context(request, project, membership, number=number, **forms)
    return TemplateResponse(request, "projects/project_detail.html", context, status=status)


@require_POST
def version_edit(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    parent, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    project = parent.project
    form = EditForm(request.POST, parent=parent)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = services.version_create(
                project=project,
                membership=membership,
                author=request.user,
                kind=Version.Kind.EDIT,
                parent=parent,
                instruction=data["instruction"],
                keep_rest_same=data["keep_rest_same"],
                prompt=services.edit_prompt(
                    instruction=data["instruction"],
                    keep_rest_same=data["keep_rest_same"],
                    preserve=data["preserve"],
                ),
                prompt_fields={"preserve": data["preserve"]},
                addressed_comments=parent.comments.filter(pk__in=data["addresses"], parent=None),
                aspect_ratio=parent.aspect_ratio,
                resolution=parent.resolution,
                duration_seconds=parent.duration_seconds,
                engine=data["engine"],
            )
        except StudioError as error:
            field = "instruction" if error.field in {None, "prompt"} else error.field
            form.add_error(field if field in form.fields else None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            return _form_errors(
                request, project, membership, status=403, edit_form=form, selected=parent
            )
        else:
            return _redirect(request, version.get_absolute_url())
    return _form_errors(request, project, membership, edit_form=form, selected=parent)


def _version_action(request: HttpRequest, project_id: int, number: int, action) -> HttpResponse:
    version, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    try:
        action(version=version, membership=membership)
    except PermissionDenied as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain")
    except StudioError as error:
        if request.htmx:
            return HttpResponse(error.message, status=409, content_type="text/plain")
        messages.error(request, error.message)
    return _redirect(request, version.get_absolute_url())


@require_POST
def version_cancel(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    return _version_action(request, project_id, number, services.version_cancel)


@require_POST
def version_retry(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    return _version_action(request, project_id, number, services.version_retry)


@require_POST
def version_reconcile(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    form = ReconcileForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose to submit again or cancel.", status=400)
    resubmit = form.cleaned_data["decision"] == "resubmit"

    def decide(*, version, membership):
        services.version_reconcile(version=version, membership=membership, resubmit=resubmit)

    return _version_action(request, project_id, number, decide)


@require_http_methods(["GET", "POST"])
def workspace_settings(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """Region, members and invitations. Everyone sees it; owners change it."""
    membership = services.membership_for(user=request.user, workspace_id=workspace_id)
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
                    _, token = services.invitation_create(
                        membership=membership, role=invite_form.cleaned_data["role"]
                    )
                    new_link = request.build_absolute_uri(
                        reverse("invitation_accept", args=[token])
                    )
                else:
                    status = 422
            elif action in {"role", "remove"}:
                target = Membership.objects.filter(
                    pk=request.POST.get("membership"), workspace=workspace
                ).first()
                if target is None:
                    raise Http404("No such member.")
                if action == "role":
                    role_form = RoleForm(request.POST)
                    if not role_form.is_valid():
                        raise StudioError("Choose a role.")
                    services.membership_change_role(
                        by=membership, target=target, role=role_form.cleaned_data["role"]
                    )
                    messages.success(request, f"{target.user} is now {target.role}.")
                else:
                    services.membership_remove(by=membership, target=target)
                    messages.success(request, f"{target.user} was removed.")
                return redirect("workspace_settings", workspace_id=workspace.pk)
            elif action == "revoke":
                invitation = workspace.invitations.filter(pk=request.POST.get("invitation")).first()
                if invitation is None:
                    raise Http404("No such invitation.")
                services.invitation_revoke(membership=membership, invitation=invitation)
                return redirect("workspace_settings", workspace_id=workspace.pk)
        except PermissionDenied as refused:
            messages.error(request, str(refused))
            status = 403
        except StudioError as refused:
            messages.error(request, refused.message)
            status = 422
    members = workspace.memberships.select_related("user").order_by("user__username")
    pending = workspace.invitations.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )
    return TemplateResponse(
        request,
        "projects/workspace_settings.html",
        {
            "workspace": workspace,
            "membership": membership,
            "form": form,
            "invite_form": invite_form,
            "new_link": new_link,
            "members": members,
            "pending": pending,
            "roles": Membership.Role.choices,
        },
        status=status,
    )


# Live updates: the same fragments go over the websocket and, when it is
# down, to the polling fallback.


def _attach_decisions(project: Project, versions: list[Version]) -> None:
    """Each version's latest review decision, from one query."""
    latest: dict[int, Review] = {}
    for review in Review.objects.filter(version__project=project).order_by("created_at", "pk"):
        latest[review.version_id] = review
    for version in versions:
        version.latest_review = latest.get(version.pk)
        version.is_pick = version.pk == project.picked_version_id


def _branches(nodes: list[services.TreeNode]) -> list[dict]:
    """Each leaf of the tree with the latest decision along its branch."""
    branches = []
    path: list[Version] = []
    for node in nodes:
        del path[node.depth :]
        path.append(node.version)
        if not node.children:
            decisions = [v.latest_review for v in path if getattr(v, "latest_review", None)]
            latest = max(decisions, key=lambda r: (r.created_at, r.pk)) if decisions else None
            branches.append({"leaf": node.version, "path": list(path), "latest": latest})
    return branches


def _activities(project: Project) -> list[Activity]:
    return list(
        project.activities.select_related("actor", "version").order_by("-created_at", "-pk")[:30]
    )


def _attach_progress(versions: list[Version]) -> None:
    typical = services.typical_durations(versions)
    for v in versions:
        key = (v.engine, v.model, v.resolution, v.duration_seconds)
        v.progress_view = services.progress_view(v, typical_seconds=typical.get(key))


def render_updates(
    *,
    project: Project,
    membership: Membership,
    since: int | None = None,
    version_ids=(),
    kind: str = "state",
    seq: int | None = None,
) -> str:
    """Out-of-band fragments for versions changed since an event number (or
    the given ones), numbered with the event (or the project's latest)."""
    project_seq = Project.objects.values_list("event_seq", flat=True).get(pk=project.pk)
    versions = Version.objects.filter(project=project).select_related("author")
    if since is not None:
        versions = versions.filter(event_seq__gt=since) | versions.filter(
            status__in=Version.Status.unfinished()
        )
    else:
        versions = versions.filter(pk__in=list(version_ids))
    versions = list(versions.order_by("number"))
    _attach_progress(versions)
    catching_up = since is not None
    include_tree = catching_up or kind in {"created", "decision", "pick"}
    include_review = catching_up or kind in {"comments", "decision"}
    if include_review:
        for version in versions:
            _attach_review(version)
    context = {
        "project": project,
        "membership": membership,
        "versions": versions,
        "event_seq": project_seq if seq is None else seq,
        "include_status": kind not in {"comments", "decision", "pick", "presence"} or catching_up,
        "include_media": kind in {"state", "created"} or catching_up,
        "include_review": include_review,
        "include_activity": catching_up or kind in {"created", "comments", "decision", "pick"},
        "include_presence": catching_up or kind == "presence",
        "changed_nodes": [services.TreeNode(version=v, children=[], depth=0) for v in versions],
        "comment_form": CommentForm(),
        "review_form": ReviewForm(),
    }
    if include_tree:
        all_versions = list(project.versions.for_tree())
        _attach_progress(all_versions)
        _attach_decisions(project, all_versions)
        context["nodes"] = services.flatten_tree(services.version_tree(all_versions))
        context["branches"] = _branches(context["nodes"])
        context["include_tree"] = True
    else:
        _attach_decisions(project, versions)
    if context["include_activity"]:
        context["activities"] = _activities(project)
    if context["include_presence"]:
        context["viewers"] = services.viewers(project)
    return render_to_string("projects/project_detail.html#updates", context)


@require_GET
def project_updates(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    try:
        since = int(request.GET.get("since", "0"))
    except ValueError:
        since = 0
    return HttpResponse(render_updates(project=project, membership=membership, since=since))


# Media: members only, with Range so players can seek.


@require_GET
def version_media(request: HttpRequest, project_id: int, number: int, what: str) -> HttpResponse:
    version, _ = services.version_for_user(user=request.user, project_id=project_id, number=number)
    field = version.video if what == "video" else version.poster
    if not field:
        raise Http404("This version has no video yet.")
    slug = "".join(c if c.isalnum() else "-" for c in version.project.title)[:40].strip("-")
    if what == "video":
        return ranged_file_response(
            request,
            field,
            content_type="video/mp4",
            filename=f"{slug or 'video'}-v{version.number}.mp4",
            as_attachment="download" in request.GET,
        )
    return ranged_file_response(
        request, field, content_type="image/jpeg", filename=f"v{version.number}.jpg"
    )


@require_GET
def asset_media(request: HttpRequest, project_id: int, asset_id: int) -> HttpResponse:
    project, _ = services.project_for_user(user=request.user, project_id=project_id)
    try:
        asset = Asset.objects.get(project=project, pk=asset_id)
    except Asset.DoesNotExist as error:
        raise Http404("No such file.") from error
    return ranged_file_response(
        request, asset.file, content_type=asset.mime_type, filename=asset.original_name or "asset"
    )


# Review: comments, decisions, the pick.


def _comment_for_user(request: HttpRequest, project_id: int, comment_id: int):
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    try:
        comment = Comment.objects.select_related("version__project").get(
            pk=comment_id, version__project=project
        )
    except Comment.DoesNotExist as error:
        raise Http404("No such comment.") from error
    return comment, membership


def _comments_response(request, version, membership, *, form=None, status=200) -> HttpResponse:
    context = {
        "project": version.project,
        "membership": membership,
        "version": version,
        "comment_form": form or CommentForm(),
    }
    _attach_review(version)
    return TemplateResponse(
        request, "projects/project_detail.html#comments", context, status=status
    )


def _attach_review(version: Version) -> None:
    """Comments (threaded, in time order) and decisions of one version."""
    comments = list(version.comments.in_time_order().select_related("author", "resolved_by"))
    replies: dict[int, list[Comment]] = {}
    for comment in comments:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    for comment in comments:
        comment.thread = sorted(replies.get(comment.pk, []), key=lambda c: (c.created_at, c.pk))
    version.comment_list = [c for c in comments if c.parent_id is None]
    version.open_comments = [c for c in version.comment_list if not c.is_resolved]
    version.review_list = list(version.reviews.select_related("reviewer"))
    duration = version.video_duration or version.duration_seconds or 1
    for comment in version.comment_list:
        if comment.start_seconds is not None:
            comment.marker_x = round(min(comment.start_seconds / duration, 1) * 1000)
            end = comment.end_seconds if comment.end_seconds is not None else comment.start_seconds
            comment.marker_width = max(round((end - comment.start_seconds) / duration * 1000), 6)


@require_POST
def comment_create(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    form = CommentForm(request.POST)
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        parent = None
        if data["parent"]:
            parent = Comment.objects.filter(pk=data["parent"], version=version).first()
            if parent is None:
                raise Http404("No such comment.")
        try:
            services.comment_create(
                version=version,
                membership=membership,
                body=data["body"],
                start_seconds=data["start_seconds"],
                end_seconds=data["end_seconds"],
                parent=parent,
            )
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = 422
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            status = 403
        else:
            form = None
    else:
        status = 422
    if not request.htmx:
        if status != 200:
            messages.error(request, " ".join(e for errs in form.errors.values() for e in errs))
        return redirect(version)
    return _comments_response(request, version, membership, form=form, status=status)


def _comment_action(request: HttpRequest, project_id: int, comment_id: int, action) -> HttpResponse:
    comment, membership = _comment_for_user(request, project_id, comment_id)
    version = comment.version
    try:
        action(comment=comment, membership=membership)
    except PermissionDenied as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain")
    except StudioError as error:
        return HttpResponse(error.message, status=422, content_type="text/plain")
    if not request.htmx:
        return redirect(version)
    return _comments_response(request, version, membership)


@require_POST
def comment_edit(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    body = request.POST.get("body", "")[:2000]
    return _comment_action(
        request,
        project_id,
        comment_id,
        lambda comment, membership: services.comment_edit(
            comment=comment, membership=membership, body=body
        ),
    )


@require_POST
def comment_delete(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    return _comment_action(request, project_id, comment_id, services.comment_delete)


@require_POST
def comment_resolve(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    resolved = request.POST.get("resolved", "1") == "1"
    return _comment_action(
        request,
        project_id,
        comment_id,
        lambda comment, membership: services.comment_set_resolved(
            comment=comment, membership=membership, resolved=resolved
        ),
    )


@require_POST
def comments_to_edit(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """The edit form, prefilled from the chosen open comments."""
    version, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    if not membership.can_generate:
        return HttpResponse("Only owners and editors can turn comments into an edit.", status=403)
    ids = [int(i) for i in request.POST.getlist("comment") if i.isdigit()]
    comments = list(version.comments.filter(pk__in=ids, resolved_at__isnull=True, parent=None))
    form = EditForm(
        initial={
            "instruction": services.comments_edit_instruction(comments),
            "keep_rest_same": True,
            "addresses": ",".join(str(c.pk) for c in comments),
        },
        parent=version,
    )
    return TemplateResponse(
        request,
        "projects/project_detail.html#edit_form",
        {
            "project": version.project,
            "membership": membership,
            "selected": version,
            "edit_form": form,
            "edit_notice": "" if comments else "Choose at least one open comment.",
        },
        status=200 if comments else 422,
    )


@require_POST
def review_create(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    form = ReviewForm(request.POST)
    status = 200
    error = ""
    if form.is_valid():
        try:
            services.review_decide(
                version=version,
                membership=membership,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except PermissionDenied as refused:
            error, status = str(refused), 403
        except StudioError as refused:
            error, status = refused.message, 422
    else:
        error, status = "Choose approve or request changes.", 422
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(version)
    _attach_review(version)
    return TemplateResponse(
        request,
        "projects/project_detail.html#reviews",
        {
            "project": version.project,
            "membership": membership,
            "version": version,
            "review_error": error,
        },
        status=status,
    )


@require_POST
def version_pick(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, membership = services.version_for_user(
        user=request.user, project_id=project_id, number=number
    )
    unpick = request.POST.get("unpick") == "1"
    try:
        services.project_pick(
            project=version.project, membership=membership, version=None if unpick else version
        )
    except PermissionDenied as refused:
        return HttpResponse(str(refused), status=403, content_type="text/plain")
    except StudioError as error:
        return HttpResponse(error.message, status=422, content_type="text/plain")
    return _redirect(request, version.get_absolute_url())


@require_GET
def version_provenance(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, _ = services.version_for_user(user=request.user, project_id=project_id, number=number)
    response = JsonResponse(services.provenance(version), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = (
        f'attachment; filename="project-{project_id}-v{number}-provenance.json"'
    )
    return response


@require_GET
def compare(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = services.project_for_user(user=request.user, project_id=project_id)
    versions = list(project.versions.for_tree())
    by_number = {v.number: v for v in versions}
    by_id = {v.pk: v for v in versions}
    try:
        a = by_number[int(request.GET.get("a", ""))]
        b = by_number[int(request.GET.get("b", ""))]
    except (KeyError, ValueError):
        ready = [v for v in versions if v.is_ready]
        return TemplateResponse(
            request,
            "projects/compare.html",
            {"project": project, "membership": membership, "choices": ready, "a": None, "b": None},
            status=200 if not request.GET else 404,
        )
    context = {
        "project": project,
        "membership": membership,
        "choices": [v for v in versions if v.is_ready],
        "a": a,
        "b": b,
        **services.compare_versions(a, b, by_id),
    }
    return TemplateResponse(request, "projects/compare.html", context)


# Teams: invitations, roles, removal.


@require_http_methods(["GET", "POST"])
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = services.invitation_for_token(token)
    error = ""
    if request.method == "POST":
        try:
            membership = services.invitation_accept(token=token, user=request.user)
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
