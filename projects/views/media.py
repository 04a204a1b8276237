"""Media for members only, with Range so players can seek."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from projects.media import ranged_file_response, version_file_response
from projects.models import Asset
from projects.views.common import project_of, version_of


@require_GET
def version_media(request: HttpRequest, project_id: int, number: int, what: str) -> HttpResponse:
    version, _ = version_of(request, project_id, number)
    field = version.video if what == "video" else version.poster
    if not field:
        raise Http404("This version has no video yet.")
    return version_file_response(
        request, version, what=what, as_attachment="download" in request.GET
    )


@require_GET
def asset_media(request: HttpRequest, project_id: int, asset_id: int) -> HttpResponse:
    project, _ = project_of(request, project_id)
    try:
        asset = Asset.objects.get(project=project, pk=asset_id)
    except Asset.DoesNotExist as error:
        raise Http404("No such file.") from error
    return ranged_file_response(
        request, asset.file, content_type=asset.mime_type, filename=asset.original_name or "asset"
    )
