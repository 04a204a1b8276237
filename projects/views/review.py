"""Review on the project page: comments and replies, turning comments into an
edit, decisions, the pick, compare and provenance."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from projects.forms import CommentForm, EditForm, ReviewForm, posted_id
from projects.models import Comment, Membership, Version
from projects.page_data import attach_review
from projects.services import composer, review
from projects.services.annotations import annotation_from_json
from projects.services.compare import compare_versions, first_time_range, lineages
from projects.services.errors import StudioError
from projects.services.provenance import provenance_json
from projects.services.tree import Folded, TreeIndex, fold
from projects.views.common import project_of, redirect_to, refused, version_of


def _comment_for_user(
    request: HttpRequest, project_id: int, comment_id: int
) -> tuple[Comment, Membership]:
    project, membership = project_of(request, project_id)
    try:
        comment = Comment.objects.select_related("version__project").get(
            pk=comment_id, version__project=project
        )
    except Comment.DoesNotExist as error:
        raise Http404("No such comment.") from error
    return comment, membership


def _comments_response(
    request: HttpRequest,
    version: Version,
    membership: Membership,
    *,
    form: CommentForm | None = None,
    status: int = 200,
) -> HttpResponse:
    attach_review(version)
    context = {
        "project": version.project,
        "membership": membership,
        "version": version,
        "comment_form": form or CommentForm(),
    }
    return TemplateResponse(
        request, "projects/comments.html#comments_response", context, status=status
    )


@require_POST
def comment_create(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, membership = version_of(request, project_id, number)
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
            review.comment_create(
                version=version,
                membership=membership,
                body=data["body"],
                start_seconds=data["start_seconds"],
                end_seconds=data["end_seconds"],
                parent=parent,
                annotation=annotation_from_json(data["annotation"]),
            )
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = 422
        except PermissionDenied as refusal:
            form.add_error(None, str(refusal))
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


def _comment_action(
    request: HttpRequest,
    project_id: int,
    comment_id: int,
    action: Callable[..., object],
    **arguments: object,
) -> HttpResponse:
    """Run a review service on one comment, then show the comments again."""
    comment, membership = _comment_for_user(request, project_id, comment_id)
    version = comment.version
    if response := refused(lambda: action(comment=comment, membership=membership, **arguments)):
        return response
    if not request.htmx:
        return redirect(version)
    return _comments_response(request, version, membership)


@require_POST
def comment_edit(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    body = request.POST.get("body", "")[:2000]
    return _comment_action(request, project_id, comment_id, review.comment_edit, body=body)


@require_POST
def comment_delete(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    return _comment_action(request, project_id, comment_id, review.comment_delete)


@require_POST
def comment_resolve(request: HttpRequest, project_id: int, comment_id: int) -> HttpResponse:
    resolved = request.POST.get("resolved", "1") == "1"
    return _comment_action(
        request, project_id, comment_id, review.comment_set_resolved, resolved=resolved
    )


@require_POST
def comments_to_edit(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """The edit form, prefilled from the chosen open comments."""
    version, membership = version_of(request, project_id, number)
    if not membership.can_generate:
        return HttpResponse("Only owners and editors can turn comments into an edit.", status=403)
    ids = [i for i in map(posted_id, request.POST.getlist("comment")) if i is not None]
    comments = list(version.comments.filter(pk__in=ids, resolved_at__isnull=True, parent=None))
    engine = composer.edit_engine_default(version)
    checked = review.comments_for_edit(comments, engine=engine)
    usable = [c for c in checked if not c.refusal]
    region = review.edit_region(c.comment for c in usable)
    form = EditForm(
        initial={
            "instruction": "\n".join(c.line for c in usable),
            "keep_rest_same": True,
            "addresses": ",".join(str(c.comment.pk) for c in usable),
            "engine": engine,
            "region": json.dumps(region) if region else "",
        },
        parent=version,
    )
    notice = ""
    if not comments:
        notice = "Choose at least one open comment."
    elif not usable:
        notice = f"{form.capabilities.label} cannot act on these comments as they are written."
    return TemplateResponse(
        request,
        "projects/project_detail.html#edit_form",
        {
            "project": version.project,
            "membership": membership,
            "selected": version,
            "edit_form": form,
            "edit_notice": notice,
            "unusable_comments": [c for c in checked if c.refusal],
            "other_engines": [n for n in composer.edit_engine_names() if n != engine],
        },
        status=200 if comments else 422,
    )


@require_POST
def review_create(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, membership = version_of(request, project_id, number)
    form = ReviewForm(request.POST)
    status = 200
    error = ""
    if form.is_valid():
        try:
            review.review_decide(
                version=version,
                membership=membership,
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except PermissionDenied as refusal:
            error, status = str(refusal), 403
        except StudioError as refusal:
            error, status = refusal.message, 422
    else:
        error, status = "Choose approve or request changes.", 422
    if not request.htmx:
        if error:
            messages.error(request, error)
        return redirect(version)
    attach_review(version)
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
    version, membership = version_of(request, project_id, number)
    unpick = request.POST.get("unpick") == "1"
    response = refused(
        lambda: review.project_pick(
            project=version.project, membership=membership, version=None if unpick else version
        )
    )
    return response or redirect_to(request, version.get_absolute_url())


@require_GET
def version_provenance(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    version, _ = version_of(request, project_id, number)
    response = StreamingHttpResponse(provenance_json(version), content_type="application/json")
    response["Content-Disposition"] = (
        f'attachment; filename="project-{project_id}-v{number}-provenance.json"'
    )
    return response


COMPARE_CHOICES = 30


@require_GET
def compare(request: HttpRequest, project_id: int) -> HttpResponse:
    """Two versions side by side. The pickers offer the newest ready versions
    and take any number; the lineages are read from the tree's index."""
    project, membership = project_of(request, project_id)
    index = TreeIndex.for_project(project)
    choices = list(
        project.versions.filter(status=Version.Status.READY).order_by("-number")[:COMPARE_CHOICES]
    )
    context = {"project": project, "membership": membership, "choices": choices}
    try:
        numbers = [int(request.GET.get(side, "")) for side in ("a", "b")]
        ids = [index.by_number[number] for number in numbers]
    except (KeyError, ValueError):
        return TemplateResponse(
            request,
            "projects/compare.html",
            {**context, "a": None, "b": None},
            status=200 if not request.GET else 404,
        )
    paths = lineages(index, ids[0], ids[1])
    path_a, path_b = fold(paths.path_a, tail=3), fold(paths.path_b, tail=3)
    shown = {pk for pk in (*path_a, *path_b, paths.common_ancestor) if isinstance(pk, int)}
    by_id = {v.pk: v for v in Version.objects.filter(pk__in=shown).select_related("author")}

    def listed(path):
        return [step if isinstance(step, Folded) else by_id[step] for step in path]

    a, b = by_id[ids[0]], by_id[ids[1]]
    related = paths.common_ancestor is not None
    steps_a, steps_b = listed(path_a), listed(path_b)
    edits = [v.instruction for v in (*steps_a, *steps_b) if not isinstance(v, Folded)]
    context.update(
        a=a,
        b=b,
        related=related,
        differences=compare_versions(a, b, related=related),
        common_ancestor=by_id.get(paths.common_ancestor),
        path_a=steps_a,
        path_b=steps_b,
        start_at=first_time_range(edits),
    )
    return TemplateResponse(request, "projects/compare.html", context)
