"""Sharing from the project, the workspace in the header, and an owner who
cannot remove the workspace's last owner (themselves) by mistake."""

import pytest
from django.urls import reverse

from projects.models import Membership
from tests.factories import MembershipFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def test_the_project_page_offers_share_and_the_header_its_workspace(client):
    viewer = MembershipFactory(role=Membership.Role.VIEWER)
    project = ProjectFactory(workspace=viewer.workspace)
    client.force_login(viewer.user)
    page = client.get(project.get_absolute_url()).text
    settings_url = reverse("workspace_settings", args=[project.workspace_id])
    assert f'href="{settings_url}#share">Share: who has access</a>' in page
    assert f'href="{settings_url}">{project.workspace.name}: team and budgets</a>' in page

    shared = client.get(settings_url).text
    assert 'id="share">Who has access</h2>' in shared
    assert viewer.user.get_username() in shared
    assert "Remove" not in shared and 'id="invite"' not in shared


def test_the_only_owner_is_not_offered_removal_a_second_owner_may_leave(client):
    owner = MembershipFactory(role=Membership.Role.OWNER)
    client.force_login(owner.user)
    url = reverse("workspace_settings", args=[owner.workspace_id])
    page = client.get(url).text
    assert "The only owner" in page
    assert f"Remove {owner.user.get_username()}<" not in page
    assert f"Leave {owner.workspace.name}" not in page

    MembershipFactory(workspace=owner.workspace, role=Membership.Role.OWNER)
    page = client.get(url).text
    assert "The only owner" not in page
    assert f"Leave {owner.workspace.name}" in page
    response = client.post(url, {"action": "remove", "membership": owner.pk}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("project_list")
    assert f"You left {owner.workspace.name}." in response.text
    assert not Membership.objects.filter(pk=owner.pk).exists()
