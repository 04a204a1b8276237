"""Extend on the project page: the form on a ready version's panel, with the
estimate, that makes the child and goes to it, and shows refusals on itself."""

from decimal import Decimal

import pytest
from django.urls import reverse

from projects.models import Project, Version
from tests.factories import MembershipFactory, VersionFactory

pytestmark = pytest.mark.django_db


def extend_form(page: str) -> str:
    return page[page.index('<form id="extend-form"') :].split("</form>", 1)[0]


def ready_parent(project, **fields) -> Version:
    parent = VersionFactory(project=project, number=1, **{"video_duration": 5.0, **fields})
    Project.objects.filter(pk=project.pk).update(last_version_number=1)
    return parent


def test_a_ready_version_offers_extend_with_what_each_length_costs(logged_in, project, double):
    ready_parent(project, engine="gemini", resolution="720p", duration_seconds=5)
    form = extend_form(logged_in.get(reverse("version_detail", args=[project.pk, 1])).text)

    assert f'action="{reverse("version_extend", args=[project.pk, 1])}"' in form
    assert '<option value="5" selected>5 s · about $0.25</option>' in form
    assert '<option value="10">10 s · about $0.50</option>' in form
    assert "Estimated for the seconds added, at 720p, 24 fps on Gemini Omni Flash" in form


def test_a_version_near_the_limit_offers_only_what_fits(logged_in, project):
    ready_parent(project, video_duration=54.0, duration_seconds=54)
    form = extend_form(logged_in.get(reverse("version_detail", args=[project.pk, 1])).text)
    assert '<option value="6">6 s</option>' in form
    assert '<option value="7">' not in form
    assert "No charge on Local (offline)." in form

    Version.objects.filter(project=project).update(video_duration=58.0, duration_seconds=58)
    form = extend_form(logged_in.get(reverse("version_detail", args=[project.pk, 1])).text)
    assert "cannot be extended by 3 s or more" in form
    assert "Extend</button>" not in form


def test_a_version_not_ready_has_no_extend_form(logged_in, project):
    ready_parent(project, status=Version.Status.GENERATING)
    page = logged_in.get(reverse("version_detail", args=[project.pk, 1])).text
    assert 'id="extend-form"' not in page


def test_extend_makes_the_child_and_the_page_goes_to_it(logged_in, project, member, tasks):
    logged_in.post(
        reverse("version_generate", args=[project.pk]),
        {
            "mode": "text",
            "engine": "local",
            "prompt": "A kite over the dunes",
            "aspect_ratio": "16:9",
            "resolution": "480p",
            "duration_seconds": "5",
        },
    )
    tasks()
    response = logged_in.post(
        reverse("version_extend", args=[project.pk, 1]),
        {"seconds": "5", "instruction": "the kite drifts out of frame", "engine": "local"},
        headers={"HX-Request": "true"},
    )
    child = Version.objects.get(project=project, number=2)
    assert response.status_code == 200
    assert child.get_absolute_url() in response.headers["HX-Location"]
    assert (child.kind, child.extend_seconds, child.duration_seconds) == ("extend", 5, 10)
    assert child.instruction == "the kite drifts out of frame"
    tasks()
    child.refresh_from_db()
    assert child.status == Version.Status.READY, child.error_message
    assert abs(child.video_duration - 10.0) <= 1 / 24
    page = logged_in.get(child.get_absolute_url()).text
    assert "5 s added to v1" in page
    assert "<dt>Then</dt><dd>the kite drifts out of frame" in page


@pytest.mark.parametrize(
    ("data", "parent_fields", "message"),
    [
        ({"seconds": "12"}, {}, "Extend by 3 to 10 seconds."),
        ({"seconds": "5"}, {"video_duration": 57.0, "duration_seconds": 57}, "at most 60 s"),
        ({"seconds": "5"}, {"status": Version.Status.QUEUED}, "Only a ready version"),
        ({"seconds": "x"}, {}, "Extend by 3 to 10 seconds."),
    ],
    ids=["12s", "over-60s", "not-ready", "not-a-number"],
)
def test_refusals_are_shown_on_the_extend_form_and_change_nothing(
    logged_in, project, data, parent_fields, message
):
    ready_parent(project, **parent_fields)
    response = logged_in.post(
        reverse("version_extend", args=[project.pk, 1]),
        {"engine": "local", **data},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert response.text.lstrip().startswith('<form id="extend-form"')
    assert message in response.text
    assert project.versions.count() == 1


def test_without_htmx_a_refusal_is_the_page_again(logged_in, project):
    ready_parent(project, video_duration=57.0, duration_seconds=57)
    response = logged_in.post(
        reverse("version_extend", args=[project.pk, 1]), {"seconds": "5", "engine": "local"}
    )
    assert response.status_code == 422
    assert "at most 60 s" in response.text and 'id="version-panel"' in response.text


def test_a_viewer_cannot_extend(client, project):
    ready_parent(project)
    viewer = MembershipFactory(workspace=project.workspace, role="viewer")
    client.force_login(viewer.user)
    response = client.post(
        reverse("version_extend", args=[project.pk, 1]),
        {"seconds": "5", "engine": "local"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert project.versions.count() == 1
    assert Decimal(0) == sum((v.cost_estimate for v in project.versions.all()), Decimal(0))
