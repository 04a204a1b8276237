"""Hostile input to every form the pages post: oversized, negative,
non-numeric, non-finite, unicode, NUL and HTML values. None answers 500
(the test client would raise), and none makes a row."""

import pytest
from django.urls import reverse

from projects.models import Asset, Comment, Invitation, Project, Review, Version
from tests.factories import MembershipFactory, VersionFactory

HOSTILE = ["", "abc", "-1", "0", "9" * 25, "1e309", "nan", "inf", "１２", "1\x00", "<b>1</b>"]


def rows() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Project, Version, Comment, Review, Asset, Invitation)
    }


@pytest.fixture
def ready(project):
    project.last_version_number = 1
    project.save(update_fields=["last_version_number"])
    return VersionFactory(project=project, number=1, video_duration=5.0)


def forms(project, version, workspace_id) -> list[tuple[str, dict, list[str]]]:
    """Each form: its URL, a valid body, and the fields to spoil one at a time."""
    at = (project.pk, version.number)
    return [
        (reverse("project_create"), {"title": "T", "workspace": workspace_id}, ["workspace"]),
        (reverse("project_rename", args=[project.pk]), {"title": "T"}, []),
        (
            reverse("version_generate", args=[project.pk]),
            {
                "mode": "text",
                "engine": "local",
                "prompt": "A kite",
                "aspect_ratio": "16:9",
                "resolution": "480p",
                "duration_seconds": "3",
            },
            ["duration_seconds", "resolution", "engine", "mode", "aspect_ratio"],
        ),
        (
            reverse("version_edit", args=at),
            {"instruction": "Mute it", "engine": "local"},
            ["addresses", "section_start", "engine"],
        ),
        (reverse("comments_to_edit", args=at), {"comment": "1"}, ["comment"]),
        (
            reverse("comment_create", args=at),
            {"body": "Nice", "start_seconds": "1"},
            ["start_seconds", "end_seconds", "parent"],
        ),
        (reverse("review_create", args=at), {"decision": "approved"}, ["decision"]),
        (reverse("version_retry", args=at), {}, ["confirm_same_prompt"]),
        (reverse("version_reconcile", args=at), {"decision": "cancel"}, ["decision"]),
        (
            reverse("workspace_settings", args=[workspace_id]),
            {"action": "role", "membership": "1", "role": "editor"},
            ["membership", "role", "action"],
        ),
        (
            reverse("workspace_settings", args=[workspace_id]),
            {"action": "revoke", "invitation": "1"},
            ["invitation"],
        ),
        (
            reverse("workspace_settings", args=[workspace_id]),
            {"action": "project_budget", "project": str(project.pk), "monthly_budget": "1"},
            ["project", "monthly_budget"],
        ),
        (
            reverse("workspace_settings", args=[workspace_id]),
            {"action": "settings", "name": "W", "region": "global", "monthly_budget": "5"},
            ["monthly_budget", "region"],
        ),
    ]


@pytest.mark.parametrize("role", ["owner", "viewer"])
def test_no_form_answers_500_or_makes_a_row_from_hostile_values(client, project, ready, role):
    member = MembershipFactory(workspace=project.workspace, role=role)
    client.force_login(member.user)
    tried, made = 0, set()
    for url, body, fields in forms(project, ready, project.workspace_id):
        for field in fields:
            for value in HOSTILE:
                before = rows()
                response = client.post(url, {**body, field: value})
                assert response.status_code < 500, (url, field, value)
                tried += 1
                if rows() != before:
                    made.add((field, value))
    assert tried == 24 * len(HOSTILE)
    # Rows come only from values that are valid: an optional field left
    # empty, a section starting at 0 s, a time at 0 s, or a range's end past
    # the video's (a range to the end).
    allowed = {(f, "") for f in ("addresses", "section_start", "end_seconds", "parent")}
    allowed |= {("section_start", "0"), ("start_seconds", ""), ("start_seconds", "0")}
    allowed |= {("end_seconds", "9" * 25), ("end_seconds", "１２")}
    assert made <= (allowed if role == "owner" else set()), made - allowed
