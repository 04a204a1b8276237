"""The project page: the tree, the selected version's panel, the composer,
and what its forms and buttons do (generate, upload, edit, cancel, retry,
decide)."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from projects.forms import EditForm, ExtendForm, GenerateForm, ReconcileForm, UploadForm
from projects.media import MediaError, sniff_video_container
from projects.models import Asset, Membership, Project, Version
from projects.page_data import project_page_context, version_panel_context
from projects.services import assets, budgets, composer, decisions, extend, prompts, versions
from projects.services.errors import StudioError
from projects.views.common import project_of, redirect_to, refusal, version_of
from studio.engines.base import FPS


@require_GET
def project_detail(
    request: HttpRequest, project_id: int, number: int | None = None
) -> HttpResponse:
    project, membership = project_of(request, project_id)
    if request.htmx and request.htmx.target == "version-panel":
        context = version_panel_context(request, project, membership, number=number)
        return TemplateResponse(request, "projects/project_detail.html#version_panel", context)
    context = project_page_context(request, project, membership, number=number)
    return TemplateResponse(request, "projects/project_detail.html", context)


# The composer's file inputs: a GET of the form carries no file.
FILE_FIELDS = {"image", "references", "csrfmiddlewaretoken"}


@require_GET
def composer_form(request: HttpRequest, project_id: int) -> HttpResponse:
    """The generate form again: for another engine or template, or with the
    prompt written from the structured fields."""
    project, membership = project_of(request, project_id)
    initial = {key: request.GET.get(key) for key in request.GET if key not in FILE_FIELDS}
    initial.setdefault("engine", project.default_engine)
    template = prompts.TASK_TEMPLATES.get(request.GET.get("template", ""))
    if template is not None and "assemble" not in request.GET:
        # A template fills in the shot; a typed prompt stays, and so does a
        # still being animated (the page keeps the chosen file).
        initial.update(template.fields, template=template.key)
        if initial.get("mode") != GenerateForm.Mode.IMAGE:
            initial["mode"] = template.mode
    if "assemble" in request.GET:
        initial["prompt"] = prompts.prompt_from_fields(
            {name: request.GET.get(name, "") for name in prompts.PROMPT_FIELDS}
        )
    form = GenerateForm(initial=initial, project=project)
    return TemplateResponse(
        request,
        "projects/project_detail.html#composer",
        {"project": project, "membership": membership, "generate_form": form},
    )


@require_POST
def version_generate(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    form = GenerateForm(request.POST, request.FILES, project=project)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                arguments = composer.generation_arguments(
                    project=project,
                    engine=data["engine"],
                    kind=form.kind,
                    prompt=data["prompt"],
                    prompt_fields=data["prompt_fields"],
                    template=data.get("template") or "",
                    aspect_ratio=data["aspect_ratio"],
                    resolution=data["resolution"],
                    duration_seconds=data["duration_seconds"],
                    fps=data["fps"],
                    assets=_generation_assets(request, form, project, membership),
                )
                made = versions.version_create_variations(
                    count=data["variations"],
                    project=project,
                    membership=membership,
                    author=request.user,
                    **arguments,
                )
        except StudioError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            return _form_errors(request, project, membership, status=403, generate_form=form)
        else:
            return redirect_to(request, made[0].get_absolute_url())
    return _form_errors(request, project, membership, generate_form=form)


def _generation_assets(
    request: HttpRequest, form: GenerateForm, project: Project, membership: Membership
) -> list[Asset]:
    """Store the files a generation uses; any refusal undoes them all."""
    data = form.cleaned_data
    confirmed = data.get("confirm_no_minors", False)
    uploads = []
    if form.kind == Version.Kind.IMAGE_TO_VIDEO:
        uploads = [data["image"]]
    elif form.kind == Version.Kind.REFERENCE_TO_VIDEO:
        uploads = data["references"]
    stored = []
    for upload in uploads:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if sniff_video_container(head):
            stored.append(
                assets.asset_create_video(
                    project=project, membership=membership, user=request.user, upload=upload
                )
            )
            continue
        try:
            stored.append(
                assets.asset_create_image(
                    project=project,
                    membership=membership,
                    user=request.user,
                    upload=upload,
                    confirmed_no_minors=confirmed,
                )
            )
        except MediaError as error:
            if form.kind == Version.Kind.IMAGE_TO_VIDEO:
                raise StudioError(str(error), field="image") from error
            name = upload.name or "a file"
            raise StudioError(f"{name}: {error}", field="references") from error
    return stored


@require_POST
def version_upload(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    form = UploadForm(request.POST, request.FILES)
    if not membership.can_generate:
        # The role is refused before the file is looked at.
        message = "Only owners and editors can upload clips."
        if request.htmx:
            return refusal(message, status=403)
        messages.error(request, message)
        context = project_page_context(request, project, membership)
        return TemplateResponse(request, "projects/project_detail.html", context, status=403)
    if form.is_valid():
        try:
            version = versions.version_create_upload(
                project=project,
                membership=membership,
                author=request.user,
                upload=form.cleaned_data["clip"],
            )
        except (StudioError, MediaError, PermissionDenied) as error:
            form.add_error("clip", getattr(error, "message", str(error)))
        else:
            return redirect_to(request, version.get_absolute_url())
    if request.htmx:
        return TemplateResponse(
            request,
            "projects/project_detail.html#upload_form",
            {"project": project, "membership": membership, "upload_form": form},
            status=422,
        )
    context = project_page_context(request, project, membership)
    context["upload_form"] = form
    return TemplateResponse(request, "projects/project_detail.html", context, status=400)


@require_GET
def cost_estimate(request: HttpRequest, project_id: int) -> HttpResponse:
    """The price of a generation before it is submitted."""
    project, _ = project_of(request, project_id)
    form = GenerateForm(request.GET, project=project)
    duration = _small_number(request.GET.get("duration_seconds"), default=0)
    count = min(
        max(_small_number(request.GET.get("variations"), default=1), 1), composer.MAX_VARIATIONS
    )
    fps = _small_number(request.GET.get("fps"), default=0)
    each = composer.cost_estimate(
        engine=form.capabilities.name,
        resolution=request.GET.get("resolution", ""),
        duration_seconds=duration,
        fps=fps if fps in form.capabilities.frame_rates else FPS,
    )
    return TemplateResponse(
        request,
        "projects/project_detail.html#estimate",
        {
            "estimate": each * count,
            "estimate_each": each,
            "estimate_count": count,
            "capabilities": form.capabilities,
            "budget": budgets.budget_status(project=project),
        },
    )


def _small_number(value: str | None, *, default: int) -> int:
    value = (value or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 4 else default


def _form_errors(request, project, membership, *, status: int = 422, **forms) -> HttpResponse:
    """The form again with its messages: the fragment for htmx, else the page."""
    if request.htmx:
        if "generate_form" in forms:
            name = "composer"
        else:
            name = "extend_form" if "extend_form" in forms else "edit_form"
        context = {"project": project, "membership": membership, **forms}
        if "selected" in forms:
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
    context = project_page_context(request, project, membership, number=number, **forms)
    return TemplateResponse(request, "projects/project_detail.html", context, status=status)


# Fields of an edit's request that the edit form shows next to their input.
_EDIT_FORM_FIELDS = {"instruction", "preserve", "engine", "section_start", "fps", "region"}


@require_POST
def version_edit(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    parent, membership = version_of(request, project_id, number)
    project = parent.project
    form = EditForm(request.POST, parent=parent)
    if form.is_valid():
        data = form.cleaned_data
        try:
            arguments = composer.edit_arguments(
                parent=parent,
                instruction=data["instruction"],
                keep_rest_same=data["keep_rest_same"],
                preserve=data["preserve"],
                engine=data["engine"],
                addresses=data["addresses"],
                section_start=data["section_start"],
                fps=data["fps"],
                region=data["region"],
            )
            version = versions.version_create(
                project=project, membership=membership, author=request.user, **arguments
            )
        except StudioError as error:
            field = "instruction" if error.field in {None, "prompt"} else error.field
            form.add_error(field if field in _EDIT_FORM_FIELDS else None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            return _form_errors(
                request, project, membership, status=403, edit_form=form, selected=parent
            )
        else:
            return redirect_to(request, version.get_absolute_url())
    return _form_errors(request, project, membership, edit_form=form, selected=parent)


@require_POST
def version_extend(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """Extend by N s: a child carrying the version on; the page goes to it."""
    parent, membership = version_of(request, project_id, number)
    project = parent.project
    form = ExtendForm(request.POST, parent=parent)
    if form.is_valid():
        data = form.cleaned_data
        try:
            version = extend.version_extend(
                version=parent,
                membership=membership,
                seconds=data["seconds"],
                instruction=data["instruction"],
                engine=data["engine"],
            )
        except StudioError as error:
            field = "instruction" if error.field == "prompt" else error.field
            form.add_error(field if field in form.fields else None, error.message)
        except PermissionDenied as refused:
            form.add_error(None, str(refused))
            return _form_errors(
                request, project, membership, status=403, extend_form=form, selected=parent
            )
        else:
            return redirect_to(request, version.get_absolute_url())
    return _form_errors(request, project, membership, extend_form=form, selected=parent)


def _version_action(
    request: HttpRequest, project_id: int, number: int, action: Callable[..., Version | None]
) -> HttpResponse:
    """Do something to a version; then show it, or the version the action
    made."""
    version, membership = version_of(request, project_id, number)
    made = None
    try:
        made = action(version=version, membership=membership)
    except PermissionDenied as refused:
        return refusal(str(refused), status=403)
    except StudioError as error:
        if request.htmx:
            return refusal(error.message, status=409)
        messages.error(request, error.message)
    return redirect_to(request, (made or version).get_absolute_url())


@require_POST
def version_cancel(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    return _version_action(request, project_id, number, decisions.version_cancel)


@require_POST
def version_retry(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    confirmed = request.POST.get("confirm_same_prompt") == "1"

    def retry(*, version: Version, membership: Membership) -> None:
        decisions.version_retry(
            version=version, membership=membership, same_prompt_confirmed=confirmed
        )

    return _version_action(request, project_id, number, retry)


@require_POST
def version_rerun(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    """Another take of a version: a new version beside it, made the same way."""

    def rerun(*, version: Version, membership: Membership) -> Version:
        return versions.version_rerun(source=version, membership=membership, author=request.user)

    return _version_action(request, project_id, number, rerun)


@require_POST
def version_reconcile(request: HttpRequest, project_id: int, number: int) -> HttpResponse:
    form = ReconcileForm(request.POST)
    if not form.is_valid():
        return HttpResponse("Choose to submit again or cancel.", status=400)
    resubmit = form.cleaned_data["decision"] == "resubmit"

    def decide(*, version: Version, membership: Membership) -> None:
        decisions.version_reconcile(version=version, membership=membership, resubmit=resubmit)

    return _version_action(request, project_id, number, decide)
