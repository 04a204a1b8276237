"""The project's activity feed: what was generated, edited, commented,
decided and picked, by whom."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser

from projects.models import Activity, Project, Version


def activity_record(
    *,
    project: Project,
    actor: AbstractBaseUser | None,
    verb: str,
    version: Version | None = None,
    detail: str = "",
    guest_name: str = "",
) -> Activity:
    return Activity.objects.create(
        project=project,
        actor=actor,
        verb=verb,
        version=version,
        detail=detail[:300],
        guest_name=guest_name,
    )


def recent_activities(project: Project, *, limit: int = 30) -> list[Activity]:
    return list(
        project.activities.select_related("actor", "version").order_by("-created_at", "-pk")[:limit]
    )
