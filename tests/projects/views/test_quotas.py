"""Quotas on the pages: the workspace settings show today's use against each
engine's quota, a waiting generation says how long it waits, and one over
the day's cap is refused beside the composer with nothing made."""

import pytest
from django.urls import reverse

from projects.models import Version
from projects.services import generation, throttle

pytestmark = pytest.mark.django_db


@pytest.fixture
def quota(settings):
    settings.STUDIO_ENGINE_QUOTAS = {"local": {"per_minute": 1, "per_day": 2}}
    settings.STUDIO_QUOTA_MINUTE_SECONDS = 60


def generate_data(**overrides):
    return {
        "mode": "text",
        "engine": "local",
        "prompt": "A paper boat drifting down a rainy street",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": "3",
        **overrides,
    }


def test_a_waiting_generation_and_todays_use_are_shown(quota, logged_in, member, project):
    url = reverse("version_generate", args=[project.pk])
    for _ in range(2):
        assert logged_in.post(url, generate_data()).status_code == 302
    for version in Version.objects.order_by("number"):
        generation.generation_advance(version_id=version.pk)
    waiting = Version.objects.get(number=2)
    assert waiting.error_kind == "quota"

    page = logged_in.get(waiting.get_absolute_url()).text
    assert "Waiting for quota, about " in page
    assert "Waiting for quota: 1 request a minute" in page

    settings_page = logged_in.get(reverse("workspace_settings", args=[member.workspace_id]))
    row = settings_page.text.split('id="quota-local"')[1].split("</tr>")[0]
    assert "1 of 1 a minute" in row
    assert "1 of 2 generations" in row
    assert "00:00 UTC" in row


def test_a_generation_over_the_days_cap_is_refused_beside_the_composer(
    quota, settings, logged_in, member, project
):
    settings.STUDIO_ENGINE_QUOTAS = {"local": {"per_minute": None, "per_day": 2}}
    for _ in range(2):
        throttle.quota_take(engine="local", version_id=None)
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "Today&#x27;s 2 generations on this engine&#x27;s key are used up" in response.text
    assert not Version.objects.exists()


def test_no_quota_says_so(logged_in, member):
    page = logged_in.get(reverse("workspace_settings", args=[member.workspace_id])).text
    assert "No engine has a quota set" in page
