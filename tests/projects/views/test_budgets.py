"""Budgets on the pages: owners set them in the workspace's settings, the
composer says what is left, and a generation that does not fit is refused
beside the form with nothing made."""

from decimal import Decimal

import pytest
from django.urls import reverse

from projects.models import Project, Version, Workspace
from tests.factories import MembershipFactory


@pytest.fixture
def priced(settings):
    settings.STUDIO_PRICE_PER_SECOND = {
        **settings.STUDIO_PRICE_PER_SECOND,
        "local": {"480p": Decimal("0.10"), "720p": Decimal("0.20"), "1080p": Decimal("0.40")},
    }


def generate_data(**overrides):
    return {
        "mode": "text",
        "engine": "local",
        "prompt": "A paper boat drifting down a rainy street",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": "5",
        **overrides,
    }


def test_an_owner_sets_the_workspaces_and_a_projects_budget(logged_in, member, project):
    settings_url = reverse("workspace_settings", args=[member.workspace_id])
    response = logged_in.post(
        settings_url,
        {"action": "settings", "name": "Studio", "region": "global", "monthly_budget": "250"},
    )
    assert response.status_code == 302
    response = logged_in.post(
        settings_url, {"action": "project_budget", "project": project.pk, "monthly_budget": "40.5"}
    )
    assert response.status_code == 302
    assert Workspace.objects.get(pk=member.workspace_id).monthly_budget == Decimal(250)
    assert Project.objects.get(pk=project.pk).monthly_budget == Decimal("40.50")
    page = logged_in.get(settings_url).text
    assert "of $250.00 ($250.00 left)" in page
    assert 'value="40.50"' in page

    # Empty clears the cap; nonsense changes nothing and says why.
    response = logged_in.post(
        settings_url, {"action": "project_budget", "project": project.pk, "monthly_budget": "lots"}
    )
    assert response.status_code == 422
    assert "Enter the budget in dollars" in response.text
    assert Project.objects.get(pk=project.pk).monthly_budget == Decimal("40.50")
    logged_in.post(
        settings_url, {"action": "project_budget", "project": project.pk, "monthly_budget": ""}
    )
    assert Project.objects.get(pk=project.pk).monthly_budget is None


def test_editors_cannot_set_budgets_nor_reach_other_workspaces_projects(client, project):
    editor = MembershipFactory(workspace=project.workspace, role="editor")
    client.force_login(editor.user)
    url = reverse("workspace_settings", args=[project.workspace_id])
    response = client.post(
        url, {"action": "project_budget", "project": project.pk, "monthly_budget": "1"}
    )
    assert response.status_code == 403
    assert Project.objects.get(pk=project.pk).monthly_budget is None

    owner_elsewhere = MembershipFactory(role="owner")
    client.force_login(owner_elsewhere.user)
    response = client.post(
        reverse("workspace_settings", args=[owner_elsewhere.workspace_id]),
        {"action": "project_budget", "project": project.pk, "monthly_budget": "1"},
    )
    assert response.status_code == 404
    assert Project.objects.get(pk=project.pk).monthly_budget is None


def test_the_composer_says_what_is_left_and_refuses_what_does_not_fit(priced, logged_in, project):
    Project.objects.filter(pk=project.pk).update(monthly_budget=Decimal("0.80"))
    estimate = logged_in.get(
        reverse("cost_estimate", args=[project.pk]),
        {"engine": "local", "resolution": "480p", "duration_seconds": "5"},
    ).text
    assert "Estimated cost: $0.50" in estimate
    assert "$0.80 of this month's budget left." in estimate

    response = logged_in.post(reverse("version_generate", args=[project.pk]), generate_data())
    assert response.status_code == 302
    estimate = logged_in.get(
        reverse("cost_estimate", args=[project.pk]),
        {"engine": "local", "resolution": "480p", "duration_seconds": "5"},
    ).text
    assert "$0.30 of this month's budget left: this one does not fit." in estimate

    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(prompt="A second boat, on a second street"),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "would cost about $0.50, and the project has $0.30 left" in response.text
    assert "A second boat, on a second street" in response.text  # the prompt is kept
    assert Version.objects.filter(project=project).count() == 1
