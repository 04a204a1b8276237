"""Omni Studio's JSON API, under /api/v1/ (django-ninja).

Token auth (`Authorization: Bearer <token>`), errors as
`{"error": {"code", "message", "field"}}`, OpenAPI 3 at /api/v1/openapi.json
and docs at /api/v1/docs. The operations are in one module per resource
(workspaces, team, webhooks, projects, assets, versions, review, replays,
sequences) and `events`.
"""

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, URLResolver, path, re_path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI

from projects.api import (
    assets,
    events,
    projects,
    replays,
    review,
    sequences,
    team,
    versions,
    webhooks,
    workspaces,
)
from projects.api.docs import LocalSwagger, docs_asset, exact_openapi
from projects.api.errors import error_response, install_error_handlers
from projects.api.parser import StrictParser
from projects.api.tokens import BearerToken


class StudioAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation) -> str:
        # The view's name: project_create, version_get, ... (the links name them).
        return operation.view_func.__name__

    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        return exact_openapi(schema)


api = StudioAPI(
    title="Omni Studio API",
    version="1",
    description=(
        "Make and review short AI videos from scripts. Authenticate with "
        "`Authorization: Bearer <token>` (create a token under *API tokens* in the "
        "account menu, or `manage.py create_api_token`). Errors are "
        '`{"error": {"code": ..., "message": ..., "field": ...}}`.'
    ),
    urls_namespace="api-v1",
    auth=BearerToken(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    parser=StrictParser(),
)
install_error_handlers(api)
for module in (
    workspaces,
    team,
    webhooks,
    projects,
    assets,
    versions,
    review,
    replays,
    sequences,
    events,
):
    api.add_router("", module.router)


@login_not_required
@csrf_exempt
def not_found(request: HttpRequest, rest: str = "") -> HttpResponse:
    return error_response(404, "not_found", "There is no such API endpoint.")


def _token_auth_only(patterns: list) -> list:
    """The API authenticates by token, not by session: exempt it from the
    session LoginRequiredMiddleware (ninja's views are already CSRF-exempt)."""
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            _token_auth_only(pattern.url_patterns)
        elif isinstance(pattern, URLPattern):
            login_not_required(pattern.callback)
    return patterns


_api_patterns, _app_name, _namespace = api.urls
urlpatterns = [
    path("docs/assets/<str:name>", docs_asset, name="docs_asset"),
    *_token_auth_only(_api_patterns),
    re_path(r"^(?P<rest>.*)$", not_found),
]
app_name = _namespace
