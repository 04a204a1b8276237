"""Guest review: the team shares versions by link (owners and editors, on
the version's page), and guests without an account open them here. Every
guest request checks the link first, so a withdrawn or expired link is
refused at once, also from a page already open (it asks every few seconds)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from projects.forms import CommentForm, GuestLinkForm, GuestNameForm, ReviewForm
from projects.media import version_file_response
from projects.models import GuestLink, Version
from projects.page_data import attach_review
from projects.services import guests
from projects.services.annotations import annotation_from_json
from projects.services.errors import StudioError
from projects.views.common import version_of

# The guest page asks this often whether its link still holds.
GUEST_CHECK_SECONDS = 5


# The team's side ------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def guest_link_create(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """The version's guest links (GET), or a new one (POST)."""
    version, membership = version_of(request, project_id, number)
    if request.method == "GET":
        if not membership.can_generate:
            return HttpResponse("Only owners and editors share versions with guests.", status=403)
        return _links_response(request, version, membership, form=GuestLinkForm())
    form = GuestLinkForm(request.POST)
    token = ""
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        shared = [version, *version.project.versions.filter(number__in=data["also"])]
        try:
            _, token = guests.guest_link_create(
                project=version.project,
                membership=membership,
                user=request.user,
                versions=shared,
                days=data["days"],
                password=data["password"],
                label=data["label"],
            )
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            status = 403
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
            status = 422
        else:
            form = GuestLinkForm()
    else:
        status = 422
    return _links_response(request, version, membership, form=form, token=token, status=status)


@require_POST
def guest_link_revoke(
    request: HttpRequest, project_id: int, number: int, link_id: int
) -> HttpResponse:
    version, membership = version_of(request, project_id, number)
    link = GuestLink.objects.filter(project=version.project, pk=link_id).first()
    if link is None:
        raise Http404("No such guest link.")
    try:
        guests.guest_link_revoke(link=link, membership=membership)
    except PermissionDenied as refused:
        return HttpResponse(str(refused), status=403)
    return _links_response(request, version, membership, form=GuestLinkForm())


def _links_response(request, version, membership, *, form, token="", status=200):
    links = version.project.guest_links.prefetch_related("versions")
    return TemplateResponse(
        request,
        "projects/guest_links.html#guest_links",
        {
            "project": version.project,
            "version": version,
            "membership": membership,
            "guest_link_form": form,
            "guest_links": links,
            "new_guest_url": (
                request.build_absolute_uri(reverse("guest_home", args=[token])) if token else ""
            ),
        },
        status=status,
    )


# The guest's side -----------------------------------------------------------------


def _guest(request: HttpRequest, token: str) -> tuple[GuestLink, dict]:
    """The link, and what this browser's session holds for it."""
    link = guests.guest_link_open(token)
    return link, request.session.get(f"guest-{link.pk}", {})


def _refused(request: HttpRequest, refused: guests.GuestRefused) -> HttpResponse:
    return TemplateResponse(
        request,
        "projects/guest_review.html",
        {"message": refused.message},
        status=refused.status,
    )


@login_not_required
@require_http_methods(["GET", "POST"])
def guest_home(request: HttpRequest, token: str) -> HttpResponse:
    """The password (if asked), then the guest's name, then the versions."""
    try:
        link, held = _guest(request, token)
    except guests.GuestRefused as refused:
        return _refused(request, refused)
    form = GuestNameForm(request.POST or None, needs_password=link.has_password)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                name = guests.guest_name_checked(data["name"])
                if link.has_password and not guests.guest_password_check(
                    link=link, password=data["password"], address=_address(request)
                ):
                    raise StudioError("That is not the link's password.", field="password")
            except StudioError as error:
                form.add_error(error.field if error.field in form.fields else None, error.message)
                status = 422
            else:
                request.session.cycle_key()
                request.session[f"guest-{link.pk}"] = {"name": name, "unlocked": True}
                return redirect("guest_home", token=token)
        else:
            status = 422
    if not held.get("unlocked"):
        return TemplateResponse(
            request,
            "projects/guest_review.html",
            {"link": link, "token": token, "name_form": form},
            status=status,
        )
    shared = guests.guest_versions(link)
    if len(shared) == 1:
        return redirect("guest_version", token=token, number=shared[0].number)
    return TemplateResponse(
        request,
        "projects/guest_review.html",
        {"link": link, "token": token, "shared": shared, "guest_name": held["name"]},
    )


def _guest_version(
    request: HttpRequest, token: str, number: int
) -> tuple[GuestLink, dict, Version]:
    link, held = _guest(request, token)
    if not held.get("unlocked"):
        raise guests.GuestRefused("Open the review link first and give your name.", status=403)
    return link, held, guests.guest_version(link, number)


@login_not_required
@require_GET
def guest_version(request: HttpRequest, token: str, number: int) -> HttpResponse:
    try:
        link, held, version = _guest_version(request, token, number)
    except guests.GuestRefused as refused:
        if refused.status == 403:
            return redirect("guest_home", token=token)
        return _refused(request, refused)
    return _version_page(request, link, token, held, version)


def _version_page(request, link, token, held, version, *, comment_form=None, status=200):
    attach_review(version)
    return TemplateResponse(
        request,
        "projects/guest_review.html",
        {
            "link": link,
            "token": token,
            "version": version,
            "project": version.project,
            "guest_name": held["name"],
            "shared": guests.guest_versions(link),
            "comment_form": comment_form or CommentForm(),
            "review_form": ReviewForm(),
            "check_seconds": GUEST_CHECK_SECONDS,
        },
        status=status,
    )


@login_not_required
@require_GET
def guest_media(request: HttpRequest, token: str, number: int, what: str) -> HttpResponse:
    try:
        _, _, version = _guest_version(request, token, number)
    except guests.GuestRefused as refused:
        return HttpResponse(refused.message, status=refused.status, content_type="text/plain")
    return version_file_response(request, version, what=what)


@login_not_required
@require_POST
def guest_comment(request: HttpRequest, token: str, number: int) -> HttpResponse:
    try:
        link, held, version = _guest_version(request, token, number)
    except guests.GuestRefused as refused:
        return _refused(request, refused)
    form = CommentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            guests.guest_comment_create(
                link=link,
                version=version,
                guest_name=held["name"],
                body=data["body"],
                start_seconds=data["start_seconds"],
                end_seconds=data["end_seconds"],
                annotation=annotation_from_json(data["annotation"]),
            )
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("guest_version", token=token, number=number)
    return _version_page(request, link, token, held, version, comment_form=form, status=422)


@login_not_required
@require_POST
def guest_decision(request: HttpRequest, token: str, number: int) -> HttpResponse:
    try:
        link, held, version = _guest_version(request, token, number)
    except guests.GuestRefused as refused:
        return _refused(request, refused)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            guests.guest_review_decide(
                link=link,
                version=version,
                guest_name=held["name"],
                decision=form.cleaned_data["decision"],
                note=form.cleaned_data["note"],
            )
        except StudioError:
            return _version_page(request, link, token, held, version, status=422)
    return redirect("guest_version", token=token, number=number)


@login_not_required
@require_GET
def guest_link_status(request: HttpRequest, token: str) -> HttpResponse:
    """For a guest page already open: nothing while the link holds (204);
    once it is withdrawn or expired, the refusal to show in its place."""
    try:
        guests.guest_link_open(token)
    except guests.GuestRefused as refused:
        return TemplateResponse(
            request, "projects/guest_review.html#refused", {"message": refused.message}
        )
    return HttpResponse(status=204)


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")
