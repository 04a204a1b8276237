"""A refusal for lack of role answers 403 on the pages, as it does on the API
(tests/projects/test_api.py), and changes nothing; an upload is refused
before its file is read."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Project, Version
from tests.factories import MembershipFactory


@pytest.mark.parametrize("role", ["viewer", "reviewer"])
def test_pages_and_api_refuse_the_same_changes_with_403(client, project, role):
    member = MembershipFactory(workspace=project.workspace, role=role)
    client.force_login(member.user)
    page_answers = {
        "create": client.post(
            reverse("project_create"), {"title": "New", "workspace": project.workspace_id}
        ),
        "rename": client.post(reverse("project_rename", args=[project.pk]), {"title": "Mine"}),
        "delete": client.post(reverse("project_delete", args=[project.pk])),
        "upload": client.post(
            reverse("version_upload", args=[project.pk]),
            {"clip": SimpleUploadedFile("clip.mp4", b"not a video", "video/mp4")},
        ),
        "upload (htmx)": client.post(
            reverse("version_upload", args=[project.pk]),
            {"clip": SimpleUploadedFile("clip.mp4", b"not a video", "video/mp4")},
            headers={"HX-Request": "true"},
        ),
    }
    assert {what: r.status_code for what, r in page_answers.items()} == dict.fromkeys(
        page_answers, 403
    )
    assert "Only owners and editors can upload clips." in page_answers["upload (htmx)"].text
    assert "Only owners and editors can create projects." in page_answers["create"].text
    assert Project.objects.count() == 1 and Project.objects.get().title == project.title
    assert Version.objects.count() == 0
