"""Settings → API tokens: list your tokens, create one (shown once in
full) and revoke one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.views.decorators.http import require_GET, require_POST

from projects.services.errors import StudioError
from projects.services.tokens import api_token_create as create_token
from projects.services.tokens import api_token_revoke as revoke_token


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        label="Name",
        help_text="What uses it, for example “nightly render script”.",
        error_messages={"required": "Name the token."},
    )


def _page(request: HttpRequest, *, form: ApiTokenForm, new_token: str = "", status: int = 200):
    tokens = request.user.api_tokens.order_by("revoked_at", "-created_at", "-pk")
    return TemplateResponse(
        request,
        "projects/api_tokens.html",
        {"tokens": tokens, "form": form, "new_token": new_token},
        status=status,
    )


@require_GET
def api_tokens(request: HttpRequest) -> HttpResponse:
    return _page(request, form=ApiTokenForm())


@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            _, token = create_token(user=request.user, name=form.cleaned_data["name"])
        except StudioError as error:
            form.add_error("name", error.message)
        else:
            # The only time the token is shown: it is not stored.
            return _page(request, form=ApiTokenForm(), new_token=token, status=201)
    return _page(request, form=form, status=422)


@require_POST
def api_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    api_token = revoke_token(user=request.user, token_id=token_id)
    messages.success(
        request, f"Revoked “{api_token.name}”. Scripts using it are refused from now on."
    )
    return redirect("api_tokens")
