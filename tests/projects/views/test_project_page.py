"""The composer and a version's takes on the page: variations, re-runs, a
composer that remembers, templates that keep what was typed."""

import re
from decimal import Decimal

import pytest
from django.urls import reverse

from projects.models import Membership, Version
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def generate_data(**overrides):
    return {
        "mode": "text",
        "engine": "local",
        "prompt": "A paper boat drifting down a rainy street",
        "subject": "A paper boat",
        "aspect_ratio": "9:16",
        "resolution": "480p",
        "duration_seconds": "4",
        **overrides,
    }


def test_three_variations_from_one_submit_and_the_composer_remembers(logged_in, project):
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]), generate_data(variations="3")
    )
    made = list(Version.objects.filter(project=project).order_by("number"))
    assert response.status_code == 302 and response.url == made[0].get_absolute_url()
    assert [v.number for v in made] == [1, 2, 3]
    assert {(v.parent_id, v.prompt, v.aspect_ratio, v.duration_seconds) for v in made} == {
        (None, "A paper boat drifting down a rainy street", "9:16", 4)
    }
    assert len({v.seed for v in made}) == 3

    page = logged_in.get(reverse("project_detail", args=[project.pk])).text
    composer = page[page.index('id="composer"') :]
    assert ">A paper boat drifting down a rainy street</textarea>" in composer
    assert '<option value="9:16" selected>' in composer
    assert '<option value="4" selected>' in composer
    assert 'value="A paper boat"' in composer


@pytest.mark.parametrize("count", ["0", "9", "many"])
def test_a_count_out_of_range_is_refused_beside_the_field(logged_in, project, count):
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(variations=count),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Select a valid choice" in response.text
    assert not Version.objects.filter(project=project).exists()


def test_the_estimate_covers_every_variation(logged_in, project, settings):
    settings.STUDIO_PRICE_PER_SECOND = {
        **settings.STUDIO_PRICE_PER_SECOND,
        "local": {"480p": Decimal("0.10"), "720p": Decimal("0.20"), "1080p": Decimal("0.40")},
    }
    url = reverse("cost_estimate", args=[project.pk])
    query = {"engine": "local", "resolution": "480p", "duration_seconds": "5"}
    assert "Estimated cost: $0.50 on" in logged_in.get(url, query).text
    three = logged_in.get(url, {**query, "variations": "3"}).text
    assert "Estimated cost: $1.50 for 3 versions ($0.50 each)" in three
    assert "Estimated cost: $0.50 on" in logged_in.get(url, {**query, "variations": "x"}).text


def test_rerun_makes_a_sibling_and_goes_to_it(logged_in, project, member, tasks):
    logged_in.post(reverse("version_generate", args=[project.pk]), generate_data())
    tasks()
    page = logged_in.get(reverse("version_detail", args=[project.pk, 1])).text
    assert "Re-run v1" in page

    response = logged_in.post(reverse("version_rerun", args=[project.pk, 1]))
    again = Version.objects.get(project=project, number=2)
    assert response.status_code == 302 and response.url == again.get_absolute_url()
    assert (again.parent_id, again.prompt, again.aspect_ratio) == (
        None,
        "A paper boat drifting down a rainy street",
        "9:16",
    )
    assert again.seed is not None


def test_rerun_is_refused_to_viewers_and_outsiders(client, project, member, tasks):
    client.force_login(member.user)
    client.post(reverse("version_generate", args=[project.pk]), generate_data())
    viewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    client.force_login(viewer.user)
    assert client.post(reverse("version_rerun", args=[project.pk, 1])).status_code == 403
    outsider = MembershipFactory(workspace=ProjectFactory().workspace)
    client.force_login(outsider.user)
    assert client.post(reverse("version_rerun", args=[project.pk, 1])).status_code == 404
    assert Version.objects.filter(project=project).count() == 1


def test_a_template_fills_the_shot_and_keeps_the_prompt_and_the_still(logged_in, project):
    response = logged_in.get(
        reverse("composer", args=[project.pk]),
        {
            "engine": "local",
            "template": "short_ad",
            "mode": "image",
            "prompt": "My own words about the product",
        },
    )
    html = response.text
    assert ">My own words about the product</textarea>" in html
    assert 'value="A sleek product on a pedestal"' in html
    assert re.search(r'<input[^>]*name="mode"[^>]*value="image"[^>]*checked', html)
