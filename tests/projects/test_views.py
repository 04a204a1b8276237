import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from projects.models import Membership, Project, Version, Workspace
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.conftest import image_bytes


def generate_data(**overrides):
    data = {
        "mode": "text",
        "engine": "local",
        "prompt": "A paper boat drifting down a rainy street",
        "aspect_ratio": "16:9",
        "resolution": "480p",
        "duration_seconds": "3",
    }
    data.update(overrides)
    return data


def test_pages_need_a_login(client, project):
    for url in [reverse("project_list"), project.get_absolute_url()]:
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("login"))


def test_signup_creates_the_users_own_workspace(client, db):
    response = client.post(
        reverse("signup"),
        {
            "username": "ada",
            "email": "ada@example.com",
            "password1": "a long passphrase 42",
            "password2": "a long passphrase 42",
        },
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user__username="ada")
    assert membership.role == Membership.Role.OWNER
    assert client.get(reverse("project_list")).status_code == 200


def test_create_rename_and_delete_a_project(logged_in, member):
    response = logged_in.post(
        reverse("project_create"), {"title": "Launch teaser", "workspace": member.workspace_id}
    )
    project = Project.objects.get(title="Launch teaser")
    assert response.url == project.get_absolute_url()
    logged_in.post(reverse("project_rename", args=[project.pk]), {"title": "Launch film"})
    project.refresh_from_db()
    assert project.title == "Launch film"
    assert (
        "Delete “Launch film”?" in logged_in.get(reverse("project_delete", args=[project.pk])).text
    )
    logged_in.post(reverse("project_delete", args=[project.pk]))
    assert not Project.objects.filter(pk=project.pk).exists()


def test_rename_with_htmx_returns_only_the_title(logged_in, project):
    response = logged_in.post(
        reverse("project_rename", args=[project.pk]),
        {"title": "New name"},
        headers={"HX-Request": "true"},
    )
    assert response.text.strip() == '<h1 id="project-title">New name</h1>'


def test_generate_queues_a_version_and_the_page_shows_it(logged_in, project, tasks):
    response = logged_in.post(reverse("version_generate", args=[project.pk]), generate_data())
    version = Version.objects.get(project=project)
    assert response.status_code == 302
    assert response.url == version.get_absolute_url()
    page = logged_in.get(version.get_absolute_url())
    assert "Queued" in page.text
    tasks()
    page = logged_in.get(version.get_absolute_url())
    assert f'id="player-{version.pk}"' in page.text
    assert "Download MP4" in page.text


def test_generate_with_htmx_answers_with_a_location(logged_in, project):
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "HX-Location" in response.headers


def test_image_to_video_stores_the_normalised_still(logged_in, project, tasks):
    still = SimpleUploadedFile(
        "photo.webp", image_bytes(size=(1200, 900), fmt="WEBP"), "image/webp"
    )
    logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(mode="image", aspect_ratio="9:16", prompt="pan left", image=still),
    )
    version = Version.objects.get(project=project)
    assert version.kind == Version.Kind.IMAGE_TO_VIDEO
    asset = version.input_assets.get()
    assert (asset.width, asset.height, asset.mime_type) == (1200, 900, "image/jpeg")
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    assert version.width < version.height


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"prompt": "x" * 20_000}, "prompt", "at most 4000 characters"),
        ({"prompt": ""}, "prompt", "Write a prompt"),
        ({"duration_seconds": "30"}, "duration_seconds", "Duration must be 3 to 10 seconds"),
        ({"aspect_ratio": "4:3"}, "aspect_ratio", "Select a valid choice"),
        ({"mode": "image"}, "image", "Choose a still"),
        (
            {"mode": "image", "image": SimpleUploadedFile("x.jpg", b"<html></html>", "image/jpeg")},
            "image",
            "not an image",
        ),
        (
            {"mode": "image", "image": SimpleUploadedFile("x.jpg", b"", "image/jpeg")},
            "image",
            "empty",
        ),
    ],
)
def test_bad_input_gets_a_message_on_its_field_and_creates_nothing(
    logged_in, project, overrides, field, message
):
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(**overrides),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert message in response.text
    assert 'aria-invalid="true"' in response.text
    assert not Version.objects.exists()
    assert not project.assets.exists()


def test_edit_errors_are_shown_on_the_edit_form(logged_in, project):
    VersionFactory(project=project, number=1, status=Version.Status.QUEUED)
    url = reverse("version_edit", args=[project.pk, 1])
    response = logged_in.post(
        url, {"instruction": "", "engine": "local"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    assert "Say what to change" in response.text
    response = logged_in.post(
        url, {"instruction": "Make it warmer", "engine": "local"}, headers={"HX-Request": "true"}
    )
    assert "not ready yet" in response.text
    assert project.versions.count() == 1


def test_an_edit_becomes_a_child_with_keep_everything_else_the_same(logged_in, project, tasks):
    logged_in.post(reverse("version_generate", args=[project.pk]), generate_data())
    tasks()
    response = logged_in.post(
        reverse("version_edit", args=[project.pk, 1]),
        {
            "instruction": "Make it warmer",
            "keep_rest_same": "on",
            "preserve": "the boat",
            "engine": "local",
        },
    )
    child = Version.objects.get(project=project, number=2)
    assert response.url == child.get_absolute_url()
    assert child.parent.number == 1
    assert child.prompt == "Make it warmer. Keep everything else the same. Preserve the boat."
    assert child.previous_interaction_id == child.parent.interaction_id
    tasks()
    child.refresh_from_db()
    assert child.status == Version.Status.READY, child.error_message


def test_other_workspaces_are_404_everywhere(logged_in, db):
    other = ProjectFactory()
    version = VersionFactory(project=other, number=1, video="versions/x.mp4")
    urls = [
        other.get_absolute_url(),
        reverse("version_detail", args=[other.pk, 1]),
        reverse("project_rename", args=[other.pk]),
        reverse("project_delete", args=[other.pk]),
        reverse("project_updates", args=[other.pk]),
        reverse("composer", args=[other.pk]),
        reverse("version_video", args=[other.pk, 1]),
        reverse("version_poster", args=[other.pk, 1]),
    ]
    for url in urls:
        assert logged_in.get(url).status_code == 404, url
    posts = [
        reverse("version_generate", args=[other.pk]),
        reverse("version_edit", args=[other.pk, 1]),
        reverse("version_cancel", args=[other.pk, 1]),
        reverse("version_retry", args=[other.pk, 1]),
        reverse("project_delete", args=[other.pk]),
    ]
    for url in posts:
        assert (
            logged_in.post(url, generate_data(instruction="Make it warmer")).status_code == 404
        ), url
    assert Project.objects.filter(pk=other.pk).exists()
    assert Version.objects.filter(project=other).count() == 1
    assert version.pk


def test_a_viewer_sees_no_composer_and_cannot_post_one(client, db):
    viewer = MembershipFactory(role=Membership.Role.VIEWER)
    project = ProjectFactory(workspace=viewer.workspace)
    client.force_login(viewer.user)
    page = client.get(project.get_absolute_url())
    assert 'id="composer"' not in page.text
    response = client.post(
        reverse("version_generate", args=[project.pk]),
        generate_data(),
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 403
    assert "only owners and editors can generate" in response.text
    without_htmx = client.post(reverse("version_generate", args=[project.pk]), generate_data())
    assert without_htmx.status_code == 403
    assert "only owners and editors can generate" in without_htmx.text
    assert not Version.objects.exists()


def test_media_is_served_with_range_to_members(logged_in, project, tasks):
    logged_in.post(reverse("version_generate", args=[project.pk]), generate_data())
    tasks()
    url = reverse("version_video", args=[project.pk, 1])
    whole = logged_in.get(url)
    body = b"".join(whole.streaming_content)
    assert whole.status_code == 200
    assert whole["Accept-Ranges"] == "bytes"
    part = logged_in.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(body)}"
    assert b"".join(part.streaming_content) == body[100:200]
    tail = logged_in.get(url, headers={"Range": "bytes=-50"})
    assert b"".join(tail.streaming_content) == body[-50:]
    beyond = logged_in.get(url, headers={"Range": f"bytes={len(body) + 10}-"})
    assert beyond.status_code == 416
    download = logged_in.get(url + "?download=1")
    assert download["Content-Disposition"].startswith("attachment")


def test_the_project_page_makes_the_same_number_of_queries_however_big_the_tree(
    logged_in, project, django_assert_max_num_queries, django_db_setup
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert logged_in.get(project.get_absolute_url()).status_code == 200
        return len(captured)

    parent = None
    for number in range(1, 6):
        parent = VersionFactory(project=project, number=number, parent=parent)
    small = count()
    assert small > 0
    for number in range(6, 60):
        parent = VersionFactory(
            project=project, number=number, parent=parent if number % 3 else None
        )
    assert count() == small


def test_updates_endpoint_sends_versions_changed_since_a_number(logged_in, project):
    VersionFactory(project=project, number=1, event_seq=1)
    VersionFactory(
        project=project,
        number=2,
        event_seq=5,
        status=Version.Status.FAILED,
        error_message="Engine unavailable",
    )
    project.event_seq = 5
    project.save()
    response = logged_in.get(reverse("project_updates", args=[project.pk]) + "?since=3")
    assert 'data-seq="5"' in response.text
    assert "Engine unavailable" in response.text
    v1 = Version.objects.get(project=project, number=1)
    assert f'id="status-{v1.pk}"' not in response.text


def test_workspace_is_required_to_create_a_project(logged_in, db):
    other = Workspace.objects.create(name="Not mine")
    response = logged_in.post(reverse("project_create"), {"title": "Sneaky", "workspace": other.pk})
    assert response.status_code == 404
    assert not Project.objects.filter(title="Sneaky").exists()


def test_project_cards_show_the_pick_or_the_newest_ready_poster(logged_in, member, project):
    VersionFactory(project=project, number=1, status=Version.Status.READY, poster="p/1.jpg")
    VersionFactory(project=project, number=2, status=Version.Status.READY, poster="p/2.jpg")
    VersionFactory(project=project, number=3, status=Version.Status.FAILED)
    page = logged_in.get(reverse("project_list")).text
    assert f"/projects/{project.pk}/v/2/poster.jpg" in page
    project.picked_version = project.versions.get(number=1)
    project.save()
    page = logged_in.get(reverse("project_list")).text
    assert f"/projects/{project.pk}/v/1/poster.jpg" in page
    ProjectFactory(workspace=member.workspace)
    page = logged_in.get(reverse("project_list")).text
    assert page.count('class="cover placeholder"') == 1 and page.count('class="cover"') == 1


def test_retrying_a_blocked_version_warns_and_needs_the_pages_confirmation(
    logged_in, project, settings
):
    settings.STUDIO_ENGINES = {
        **settings.STUDIO_ENGINES,
        "counting": "tests.engines.CountingEngine",
    }
    project.last_version_number = 1
    project.save()
    version = VersionFactory(
        project=project,
        number=1,
        engine="counting",
        status=Version.Status.BLOCKED,
        error_kind="blocked",
        error_message="Blocked by the safety filters.",
    )
    page = logged_in.get(version.get_absolute_url())
    assert "charged again and most likely blocked again" in page.text
    assert "Retry v1 unchanged anyway" in page.text
    url = reverse("version_retry", args=[project.pk, 1])
    # A form sent without the confirmation (an old page, a script) changes nothing.
    refused = logged_in.post(url, headers={"HX-Request": "true"})
    assert refused.status_code == 409 and "change the prompt" in refused.text
    assert Version.objects.get(pk=version.pk).status == Version.Status.BLOCKED
    logged_in.post(url, {"confirm_same_prompt": "1"})
    assert Version.objects.get(pk=version.pk).status == Version.Status.QUEUED
