"""More takes of one request: variations side by side, each with its own
seed, made all together or not at all; a re-run beside any version, made the
same way; and the composer as its user last left it in a project."""

from decimal import Decimal
from functools import partial

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.models import DBTaskResult

from projects.models import Membership, Version
from projects.services import assets, budgets, composer, versions
from projects.services.errors import StudioError
from studio.engines.video import probe_video
from tests.factories import MembershipFactory, VersionFactory
from tests.projects.conftest import image_bytes

pytestmark = pytest.mark.django_db

REQUEST = {
    "kind": Version.Kind.TEXT_TO_VIDEO,
    "prompt": "A paper boat on a rainy street, one continuous shot.",
    "prompt_fields": {"subject": "A paper boat", "style": "watercolour"},
    "aspect_ratio": "9:16",
    "resolution": "480p",
    "duration_seconds": 4,
    "fps": 30,
    "engine": "local",
}


def variations(project, member, count, **overrides):
    return versions.version_create_variations(
        count=count,
        project=project,
        membership=member,
        author=member.user,
        **{**REQUEST, **overrides},
    )


@pytest.fixture
def image_asset(project, member):
    return assets.asset_create_image(
        project=project,
        membership=member,
        user=member.user,
        upload=SimpleUploadedFile("still.png", image_bytes(), content_type="image/png"),
        confirmed_no_minors=True,
    )


def settings_of(version: Version) -> tuple:
    return (
        version.kind,
        version.prompt,
        version.prompt_fields,
        version.aspect_ratio,
        version.resolution,
        version.duration_seconds,
        version.engine,
        version.parent_id,
    )


def test_three_variations_are_siblings_made_the_same_way_with_seeds_of_their_own(
    project, member, tasks
):
    made = variations(project, member, 3)
    assert [v.number for v in made] == [1, 2, 3]
    assert [settings_of(v) for v in made] == [settings_of(made[0])] * 3
    seeds = [v.seed for v in made]
    assert None not in seeds and len(set(seeds)) == 3
    assert DBTaskResult.objects.count() == 3
    tasks()
    for version in made:
        version.refresh_from_db()
        assert version.status == Version.Status.READY and version.video


def test_one_version_alone_leaves_the_seed_to_the_engine(project, member):
    (only,) = variations(project, member, 1)
    assert only.seed is None


@pytest.mark.parametrize("count", [0, 5])
def test_a_count_out_of_range_is_refused(project, member, count):
    with pytest.raises(StudioError) as refused:
        variations(project, member, count)
    assert refused.value.field == "variations"
    assert Version.objects.count() == 0


def test_variations_a_budget_cannot_all_hold_make_none(project, member, settings):
    settings.STUDIO_PRICE_PER_SECOND = {
        **settings.STUDIO_PRICE_PER_SECOND,
        "local": {"480p": Decimal("0.10"), "720p": Decimal("0.20"), "1080p": Decimal("0.40")},
    }
    budgets.budget_set(membership=member, project=project, monthly_budget=Decimal("1.00"))
    with pytest.raises(StudioError) as refused:
        variations(project, member, 3)  # $0.40 each: two fit
    assert "budget" in refused.value.message
    assert Version.objects.count() == 0
    assert DBTaskResult.objects.count() == 0
    project.refresh_from_db()
    assert project.last_version_number == 0
    assert budgets.budget_status(project=project).left == Decimal("1.00")


def test_a_rerun_is_a_sibling_made_the_same_way_with_a_new_seed(project, member, tasks):
    (first,) = variations(project, member, 1)
    tasks()
    first.refresh_from_db()
    edit = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        **composer.edit_arguments(
            parent=first, instruction="Make it black and white", preserve="the boat"
        ),
    )
    tasks()
    edit.refresh_from_db()

    again = versions.version_rerun(source=edit, membership=member, author=member.user)
    assert again.number == 3 and again.parent_id == first.pk
    assert settings_of(again) == settings_of(edit)
    assert (again.instruction, again.previous_interaction_id) == (
        edit.instruction,
        first.interaction_id,
    )
    assert again.seed is not None
    tasks()
    again.refresh_from_db()
    assert again.status == Version.Status.READY


def test_a_rerun_keeps_the_still_it_animated(project, member, image_asset, tasks):
    source = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        **{**REQUEST, "kind": Version.Kind.IMAGE_TO_VIDEO},
        assets=[image_asset],
    )
    tasks()
    source.refresh_from_db()
    again = versions.version_rerun(source=source, membership=member, author=member.user)
    assert list(again.input_assets.all()) == [image_asset]
    assert again.kind == Version.Kind.IMAGE_TO_VIDEO


def test_only_a_ready_version_is_rerun(project, member, tasks):
    (source,) = variations(project, member, 1)
    with pytest.raises(StudioError) as refused:
        versions.version_rerun(source=source, membership=member, author=member.user)
    assert refused.value.message == "Only a ready version is re-run; v1 is queued."
    Version.objects.filter(pk=source.pk).update(status=Version.Status.BLOCKED)
    source.refresh_from_db()
    with pytest.raises(StudioError):
        versions.version_rerun(source=source, membership=member, author=member.user)
    assert Version.objects.count() == 1


def test_a_viewer_cannot_rerun_and_an_upload_has_nothing_to_rerun(project, member):
    (source,) = variations(project, member, 1)
    viewer = MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    with pytest.raises(Exception) as refused:
        versions.version_rerun(source=source, membership=viewer, author=viewer.user)
    assert "owners and editors" in str(refused.value).lower()
    upload = VersionFactory(project=project, number=2, kind=Version.Kind.UPLOAD, engine="upload")
    with pytest.raises(StudioError):
        versions.version_rerun(source=upload, membership=member, author=member.user)
    assert Version.objects.count() == 2


def test_the_composer_remembers_the_users_last_generation_in_the_project(project, member):
    assert composer.remembered_choices(project=project, user=member.user) == {}
    variations(project, member, 2)
    other = MembershipFactory(workspace=member.workspace, role=Membership.Role.EDITOR)
    versions.version_create(
        project=project,
        membership=other,
        author=other.user,
        **{**REQUEST, "prompt": "Someone else's idea", "aspect_ratio": "16:9"},
    )
    remembered = composer.remembered_choices(project=project, user=member.user)
    assert remembered == {
        "engine": "local",
        "aspect_ratio": "9:16",
        "resolution": "480p",
        "duration_seconds": 4,
        "fps": 30,
        "prompt": REQUEST["prompt"],
        "template": "",
        "subject": "A paper boat",
        "style": "watercolour",
    }
    assert (
        composer.remembered_choices(project=project, user=other.user)["prompt"]
        == "Someone else's idea"
    )


def test_a_generation_is_made_at_the_chosen_frame_rate(project, member, tasks, tmp_path):
    version = versions.version_create(
        project=project, membership=member, author=member.user, **{**REQUEST, "fps": 12}
    )
    assert version.fps == 12
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    made = tmp_path / "made.mp4"
    with version.video.open("rb") as handle:
        made.write_bytes(handle.read())
    assert probe_video(made).fps == 12
    assert version.fps == 12

    edit = versions.version_create(
        project=project,
        membership=member,
        author=member.user,
        **composer.edit_arguments(parent=version, instruction="Make it warmer"),
    )
    assert edit.fps == 12  # kept from its parent
    assert composer.rerun_arguments(version)["fps"] == 12


def test_a_frame_rate_the_engine_does_not_make_is_refused_and_nothing_is_made(project, member):
    with pytest.raises(StudioError, match="makes 12, 24, 30 fps") as refused:
        versions.version_create(
            project=project, membership=member, author=member.user, **{**REQUEST, "fps": 25}
        )
    assert refused.value.field == "fps"
    assert not Version.objects.exists()


def test_the_estimate_follows_the_frames_made(settings):
    settings.STUDIO_PRICE_PER_SECOND = {"gemini": {"720p": Decimal("0.05")}}
    estimate = partial(composer.cost_estimate, engine="gemini", resolution="720p")
    assert estimate(duration_seconds=8) == Decimal("0.40")
    assert estimate(duration_seconds=8, fps=12) == Decimal("0.20")
    assert estimate(duration_seconds=8, fps=30) == Decimal("0.50")
