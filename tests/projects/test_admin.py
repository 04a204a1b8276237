"""The admin serves support: every model listed and searchable, versions
read-only, and Cancel going through the studio's own service."""

from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from projects.models import Version
from tests.factories import UserFactory, VersionFactory


def test_every_model_is_in_the_admin_and_versions_are_read_only(client, project):
    staff = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(staff)
    version = VersionFactory(project=project, number=1, status=Version.Status.GENERATING)
    ours = [m for m in admin.site._registry if m._meta.app_label == "projects"]
    assert set(ours) == set(apps.get_app_config("projects").get_models())
    for model in ours:
        url = reverse(f"admin:projects_{model._meta.model_name}_changelist")
        assert client.get(url, {"q": "x"}).status_code == 200, model
    change = client.get(reverse("admin:projects_version_change", args=[version.pk]))
    assert change.status_code == 200
    assert 'name="status"' not in change.text and 'name="interaction_id"' not in change.text
    posted = client.post(
        reverse("admin:projects_version_change", args=[version.pk]), {"status": "ready"}
    )
    assert posted.status_code == 403
    version.refresh_from_db()
    assert version.status == Version.Status.GENERATING

    client.post(
        reverse("admin:projects_version_changelist"),
        {"action": "cancel", "_selected_action": [version.pk]},
    )
    version.refresh_from_db()
    assert version.status == Version.Status.CANCELLED
    assert version.error_message == f"Cancelled by {staff.get_username()}."
