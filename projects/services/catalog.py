"""A workspace's catalogue of projects: create, rename and delete (with every
file a project holds)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from projects.models import Membership, Project
from projects.services.access import require
from projects.services.storage import delete_files_on_commit

# What the title column holds; the page's form reads the same model field.
TITLE_MAX_CHARS = Project._meta.get_field("title").max_length


def project_create(*, user: AbstractBaseUser, membership: Membership, title: str) -> Project:
    require(membership.can_manage_projects, "Only owners and editors can create projects.")
    return Project.objects.create(
        workspace=membership.workspace,
        title=title.strip(),
        created_by=user,
        default_engine=settings.STUDIO_DEFAULT_ENGINE,
    )


def project_rename(*, project: Project, membership: Membership, title: str) -> Project:
    require(membership.can_manage_projects, "Only owners and editors can rename projects.")
    project.title = title.strip()
    project.save(update_fields=["title", "updated_at"])
    return project


def project_delete(*, project: Project, membership: Membership) -> None:
    require(membership.can_manage_projects, "Only owners and editors can delete projects.")
    files = [
        name
        for video, poster in project.versions.values_list("video", "poster")
        for name in (video, poster)
    ] + list(project.assets.values_list("file", flat=True))
    with transaction.atomic():
        project.delete()
        delete_files_on_commit(files)
