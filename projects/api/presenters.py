"""Models as the API shows them: plain dicts matching projects.api.schemas
(versions, comments and reviews are shaped in projects.services.api_shapes,
which webhooks share)."""

from __future__ import annotations

from projects.models import Asset, Membership, Project, Version
from projects.services.api_shapes import (
    api_root,
    comment_out,
    review_out,
    version_detail,
    version_out,
    version_state,
    version_urls,
    versions_out,
)
from projects.services.progress import ProgressView

__all__ = [
    "api_root",
    "asset_out",
    "comment_out",
    "project_out",
    "review_out",
    "version_detail",
    "version_event",
    "version_out",
    "versions_out",
]


def project_out(project: Project, membership: Membership, *, version_count: int) -> dict:
    return {
        "id": project.pk,
        "title": project.title,
        "workspace": {"id": project.workspace_id, "name": project.workspace.name},
        "role": membership.role,
        "default_engine": project.default_engine,
        "default_aspect_ratio": project.default_aspect_ratio,
        "version_count": version_count,
        "picked_version": project.picked_version.number if project.picked_version else None,
        "seq": project.event_seq,
        "created_at": project.created_at,
        "updated_at": project.updated_at,
        "web_url": project.get_absolute_url(),
    }


def asset_out(asset: Asset, *, version_number: int | None = None) -> dict:
    return {
        "id": asset.pk,
        "kind": asset.kind,
        "original_name": asset.original_name,
        "mime_type": asset.mime_type,
        "size_bytes": asset.size_bytes,
        "width": asset.width,
        "height": asset.height,
        "duration_seconds": asset.duration_seconds,
        "sha256": asset.sha256,
        "version": version_number,
        "created_at": asset.created_at,
    }


def version_event(version: Version, progress: ProgressView, *, kind: str) -> dict:
    return {
        "project": version.project_id,
        "version": version.number,
        "kind": kind,
        **version_state(version, progress),
        "seq": version.event_seq,
        "video_url": version_urls(version)["video_url"],
    }
