"""The polling fallback: what changed since an event number, as the same
fragments the websocket carries, for a page whose socket is down or silent."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from projects.live.fragments import render_catch_up
from projects.views.common import project_of


def _number(value: str) -> int:
    return int(value) if value.isdigit() and len(value) <= 18 else 0


@require_GET
def project_updates(request: HttpRequest, project_id: int) -> HttpResponse:
    project, membership = project_of(request, project_id)
    html = render_catch_up(project, membership.role, since=_number(request.GET.get("since", "")))
    return HttpResponse(html)
