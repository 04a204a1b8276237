"""The API's workspaces and engines: who you are where, and what each engine
can make."""

from django.conf import settings
from django.http import HttpRequest
from ninja import Router

from projects.api.common import E401, request_user
from projects.api.schemas import EngineOut, WorkspaceOut
from projects.models import Membership
from projects.services.engines import capabilities_of, engine_names

router = Router(tags=["workspaces"])


@router.get("/workspaces", response={200: list[WorkspaceOut], **E401})
def workspace_list(request: HttpRequest):
    """Your workspaces and your role in each."""
    memberships = (
        Membership.objects.filter(user=request_user(request))
        .select_related("workspace")
        .order_by("workspace__name", "workspace_id")
    )
    return [
        {
            "id": m.workspace_id,
            "name": m.workspace.name,
            "region": m.workspace.region,
            "role": m.role,
        }
        for m in memberships
    ]


@router.get("/engines", response={200: list[EngineOut], **E401})
def engine_list(request: HttpRequest):
    """The engines this studio runs and what each can make."""
    engines = []
    for name in engine_names():
        caps = capabilities_of(name)
        engines.append(
            {
                "name": caps.name,
                "label": caps.label,
                "default": name == settings.STUDIO_DEFAULT_ENGINE,
                "tasks": sorted(str(task) for task in caps.tasks),
                "aspect_ratios": list(caps.aspect_ratios),
                "resolutions": list(caps.resolutions),
                "frame_rates": list(caps.frame_rates),
                "min_duration": caps.min_duration,
                "max_duration": caps.max_duration,
                "max_images": caps.max_images,
                "max_videos": caps.max_videos,
                "max_prompt_chars": caps.max_prompt_chars,
                "reports_percent": caps.reports_percent,
                "paid": caps.paid,
            }
        )
    return engines
