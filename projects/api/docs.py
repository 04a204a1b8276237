"""Browsable docs that work offline under the studio's CSP.

django-ninja ships Swagger UI (JS, CSS and an init script that reads its
settings from a JSON block, so no inline script is needed). Its own docs page
only uses those files when "ninja" is an installed app and otherwise loads
them from a CDN; rather than change INSTALLED_APPS, this page points at the
same files served from the installed package by `docs_asset`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import ninja
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from ninja.openapi.docs import DocsBase

NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}


class LocalSwagger(DocsBase):
    settings = {"layout": "BaseLayout", "deepLinking": True}

    def render_page(self, request: HttpRequest, api: ninja.NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        # "<" escaped, so the JSON cannot close its script element.
        settings_json = json.dumps(settings).replace("<", "\\u003c")

        def asset(name: str) -> str:
            return reverse(f"{api.urls_namespace}:docs_asset", args=[name])

        page = format_html(
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>{} – docs</title>\n"
            '<link rel="icon" href="{}" type="image/svg+xml">\n'
            '<link rel="stylesheet" href="{}">\n</head>\n'
            '<body data-csrf-token="" data-api-csrf="">\n'
            '<script type="application/json" id="swagger-settings">{}</script>\n'
            '<div id="swagger-ui"></div>\n'
            '<script src="{}"></script>\n<script src="{}"></script>\n'
            "</body>\n</html>\n",
            api.title,
            asset("favicon.svg"),
            asset("swagger-ui.css"),
            mark_safe(settings_json),  # "<" escaped above
            asset("swagger-ui-bundle.js"),
            asset("swagger-ui-init.js"),
        )
        return HttpResponse(page)


@login_not_required
@require_GET
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404("No such file.")
    # FileResponse closes the file once it is sent.
    handle = open(NINJA_STATIC / name, "rb")  # noqa: SIM115
    response = FileResponse(handle, content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response
