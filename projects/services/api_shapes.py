"""Versions, comments and reviews as the API shows them (plain dicts
matching projects.api.schemas): the API answers with them and webhooks
carry them, so a receiver reads the same JSON as a script."""

from __future__ import annotations

from django.urls import reverse

from projects.models import Comment, Review, Version
from projects.services.progress import ProgressView, progress_for


def api_root() -> str:
    return reverse("api-v1:api-root")


def version_urls(version: Version) -> dict:
    base = f"{api_root()}projects/{version.project_id}/versions/{version.number}"
    ready = version.status == Version.Status.READY
    return {
        "video_url": f"{base}/video" if ready and version.video else None,
        "poster_url": f"{base}/poster" if ready and version.poster else None,
    }


def _error(version: Version) -> dict | None:
    if not version.error_message:
        return None
    return {"kind": version.error_kind, "message": version.error_message}


def version_out(
    version: Version,
    progress: ProgressView,
    *,
    parent_number: int | None,
    asset_ids: list[int],
    author: str | None,
) -> dict:
    return {
        "project": version.project_id,
        "number": version.number,
        "parent": parent_number,
        "kind": version.kind,
        **version_state(version, progress),
        "prompt": version.prompt,
        "instruction": version.instruction,
        "prompt_fields": {k: str(v) for k, v in (version.prompt_fields or {}).items()},
        "keep_rest_same": version.keep_rest_same,
        "aspect_ratio": version.aspect_ratio,
        "resolution": version.resolution,
        "duration_seconds": version.duration_seconds,
        "fps": version.fps,
        "engine": version.engine,
        "model": version.model,
        "route": version.route,
        "engine_note": version.engine_note,
        "assets": asset_ids,
        "author": author,
        "attempt": version.attempt,
        "width": version.width,
        "height": version.height,
        "video_duration": version.video_duration,
        "video_bytes": version.video_bytes,
        "has_audio": version.has_audio,
        "section_start": version.section_start,
        "extend_seconds": version.extend_seconds,
        "seed": version.seed,
        "region": version.region,
        "cost_estimate": str(version.cost_estimate),
        "cost": None if version.cost is None else str(version.cost),
        "can_cancel": version.can_cancel,
        "can_retry": version.can_retry,
        "seq": version.event_seq,
        "created_at": version.created_at,
        "submitted_at": version.submitted_at,
        "finished_at": version.finished_at,
        **version_urls(version),
        "web_url": version.get_absolute_url(),
    }


def versions_out(versions: list[Version]) -> list[dict]:
    """Many versions, in a fixed number of queries."""
    if not versions:
        return []
    progress = progress_for(versions)
    parent_ids = {v.parent_id for v in versions if v.parent_id}
    parents = dict(
        Version.objects.filter(pk__in=parent_ids).values_list("pk", "number") if parent_ids else []
    )
    assets: dict[int, list[int]] = {}
    links = Version.input_assets.through.objects.filter(
        version_id__in=[v.pk for v in versions]
    ).order_by("pk")
    for version_id, asset_id in links.values_list("version_id", "asset_id"):
        assets.setdefault(version_id, []).append(asset_id)
    return [
        version_out(
            v,
            progress[v.pk],
            parent_number=parents.get(v.parent_id),
            asset_ids=assets.get(v.pk, []),
            author=v.author.get_username() if v.author else None,
        )
        for v in versions
    ]


def version_detail(version: Version) -> dict:
    version = Version.objects.select_related("author").get(pk=version.pk)
    return versions_out([version])[0]


def version_state(version: Version, progress: ProgressView) -> dict:
    """Where a version is in its life, as both its object and its events say."""
    return {
        "status": version.status,
        "phase": progress.phase,
        "percent": progress.percent,
        "eta_seconds": progress.eta_seconds,
        "finished": version.status in Version.Status.finished(),
        "error": _error(version),
    }


def comment_out(comment: Comment, *, version_number: int) -> dict:
    return {
        "id": comment.pk,
        "version": version_number,
        "parent": comment.parent_id,
        "author": comment.author_name if (comment.author or comment.guest_name) else None,
        "guest": bool(comment.guest_name),
        "body": comment.body,
        "start_seconds": comment.start_seconds,
        "end_seconds": comment.end_seconds,
        "start_frame": comment.start_frame,
        "end_frame": comment.end_frame,
        "timecode": comment.timecode,
        "annotation": comment.annotation,
        "resolved": comment.is_resolved,
        "resolved_at": comment.resolved_at,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def review_out(review: Review, *, version_number: int) -> dict:
    return {
        "id": review.pk,
        "version": version_number,
        "reviewer": review.reviewer_name if (review.reviewer or review.guest_name) else None,
        "guest": bool(review.guest_name),
        "decision": review.decision,
        "note": review.note,
        "created_at": review.created_at,
    }
