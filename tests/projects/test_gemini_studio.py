"""The core loop on the Gemini engine: the studio's services, tasks and views
driving the real google-genai SDK against the local double of the API."""

import tempfile
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from projects.models import EngineThrottle, Version, Workspace
from projects.services import assets, decisions, progress, sweeper, throttle, versions
from projects.services.engines import get_engine
from projects.services.errors import StudioError
from studio.engines.base import GenerationRequest, Task
from studio.engines.local.engine import LocalEngine
from tests.contract.interactions_double import Reply, api_error, interaction
from tests.projects.conftest import completes, image_bytes


def render(aspect_ratio="16:9", seconds=3) -> bytes:
    engine = LocalEngine()
    request = GenerationRequest(
        task=Task.TEXT_TO_VIDEO,
        prompt="A lighthouse at dusk",
        aspect_ratio=aspect_ratio,
        resolution="480p",
        duration_seconds=seconds,
    )
    submission = engine.submit(request)
    result = engine.poll(submission.interaction_id, request, progress=lambda f: None)
    with tempfile.TemporaryDirectory() as workdir:
        target = Path(workdir) / "out.mp4"
        engine.fetch_output(result.output, target)
        return target.read_bytes()


@pytest.fixture(scope="module")
def landscape_mp4() -> bytes:
    return render()


def generate(project, member, **overrides) -> Version:
    fields = {
        "kind": Version.Kind.TEXT_TO_VIDEO,
        "prompt": "A marble rolling on a chain-reaction track, one continuous shot.",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration_seconds": 5,
        "engine": "gemini",
    }
    fields.update(overrides)
    return versions.version_create(project=project, membership=member, author=member.user, **fields)


def test_prompt_to_ready_video_on_gemini(project, member, tasks, double, landscape_mp4):
    completes(double, "int-t2v", landscape_mp4)
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert (version.engine, version.interaction_id) == ("gemini", "int-t2v")
    assert version.model.startswith("gemini-omni")
    assert version.usage["total_tokens"] == 4120
    # Billed for the 3 s the model returned, not the 5 s estimated.
    assert version.cost_estimate == Decimal("0.25")
    assert version.cost == version.budget_held == Decimal("0.15")
    assert len(double.creates) == 1
    sent = double.creates[0].json
    assert sent["background"] is True and sent["store"] is True
    assert sent["generation_config"]["video_config"]["task"] == "text_to_video"
    assert sent["response_format"]["aspect_ratio"] == "16:9"
    assert len(double.gets("int-t2v")) == 3
    assert version.video.read()[4:8] == b"ftyp"


def test_edits_continue_the_interaction_and_branches_share_the_parent(
    project, member, tasks, double, landscape_mp4
):
    completes(double, "int-root", landscape_mp4)
    root = generate(project, member)
    tasks()
    root.refresh_from_db()
    completes(double, "int-edit", landscape_mp4)
    edit = generate(
        project,
        member,
        kind="edit",
        parent=root,
        prompt="Slow motion. Keep everything else the same.",
    )
    tasks()
    completes(double, "int-branch", landscape_mp4)
    branch = generate(project, member, kind="edit", parent=root, prompt="Make it night.")
    tasks()
    edit.refresh_from_db()
    branch.refresh_from_db()
    assert edit.status == branch.status == Version.Status.READY
    creates = [r.json for r in double.creates]
    assert [c.get("previous_interaction_id") for c in creates] == [None, "int-root", "int-root"]
    assert edit.route == "continued interaction"
    assert edit.previous_interaction_id == branch.previous_interaction_id == "int-root"


def test_a_still_is_sent_inline(project, member, tasks, double, landscape_mp4):
    completes(double, "int-i2v", landscape_mp4)
    asset = assets.asset_create_image(
        project=project,
        membership=member,
        user=member.user,
        upload=SimpleUploadedFile("p.png", image_bytes(), "image/png"),
    )
    version = generate(project, member, kind="image_to_video", assets=[asset], prompt="Push in.")
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY
    blocks = double.creates[0].json["input"][0]["content"]
    assert [b["type"] for b in blocks] == ["image", "text"]
    assert blocks[0]["mime_type"] == "image/jpeg"


def test_an_uploaded_clip_is_edited_through_the_files_api(
    project, member, tasks, double, landscape_mp4
):
    upload = versions.version_create_upload(
        project=project,
        membership=member,
        author=member.user,
        upload=SimpleUploadedFile("clip.mp4", landscape_mp4, "video/mp4"),
    )
    tasks()
    upload.refresh_from_db()
    assert upload.status == Version.Status.READY
    assert upload.kind == Version.Kind.UPLOAD
    completes(double, "int-upload-edit", landscape_mp4)
    edit = generate(project, member, kind="edit", parent=upload, prompt="Make it night.")
    tasks()
    edit.refresh_from_db()
    assert edit.status == Version.Status.READY, edit.error_message
    assert edit.route == "uploaded parent video"
    assert len(double.upload_starts) == 1
    create = double.creates[0].json
    assert "previous_interaction_id" not in create
    assert create["generation_config"]["video_config"]["task"] == "edit"


def test_square_is_made_from_16_9_and_reframed_here(project, member, tasks, double, landscape_mp4):
    completes(double, "int-square", landscape_mp4)
    version = generate(project, member, aspect_ratio="1:1")
    tasks()
    version.refresh_from_db()
    assert double.creates[0].json["response_format"]["aspect_ratio"] == "16:9"
    assert version.status == Version.Status.READY, version.error_message
    assert version.width == version.height
    assert "reframe" in version.engine_note.lower()


def test_a_square_from_an_unreadable_video_fails_as_unavailable(project, member, tasks, double):
    completes(double, "int-unreadable", b"not a video at all")
    version = generate(project, member, aspect_ratio="1:1")
    tasks()
    version.refresh_from_db()
    assert version.error_kind == "unavailable"
    assert "could not be reframed" in version.error_message
    assert not version.video


def test_a_safety_block_is_shown_with_the_apis_reason(project, member, tasks, double):
    double.on_create(interaction("int-unsafe", "queued"))
    double.script(
        "int-unsafe",
        interaction(
            "int-unsafe",
            "failed",
            errors=[{"code": "safety", "message": "The prompt was blocked: violence."}],
        ),
    )
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.BLOCKED
    assert version.error_kind == "safety_blocked"
    assert "violence" in version.error_message


def test_rate_limited_create_waits_and_says_when(project, member, tasks, double):
    double.on_create(api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "120"}))
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.QUEUED
    assert version.error_kind == "rate_limited"
    assert version.retry_at is not None
    assert progress.progress_view(version).phase.startswith("Retrying at")
    assert len(double.creates) == 1


def test_a_rate_limited_create_holds_the_accounts_next_submissions(
    project, member, tasks, double, landscape_mp4
):
    double.on_create(api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "90"}))
    first = generate(project, member)
    tasks()
    second = generate(project, member, prompt="A paper boat on a puddle, one continuous shot.")
    tasks()
    # The second generation waited for the account's Retry-After without a call.
    assert len(double.creates) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Version.Status.QUEUED
    assert second.retry_at >= timezone.now() + timedelta(seconds=85)
    assert EngineThrottle.objects.get().until == pytest.approx(
        first.retry_at, abs=timedelta(seconds=2)
    )
    # A second API key is a second account: it is not held.
    assert throttle.throttle_until(engine="gemini") is not None
    with override_settings(GEMINI_API_KEY="another-key"):
        assert throttle.throttle_until(engine="gemini") is None

    # Once the pause has passed, both are submitted.
    past = timezone.now() - timedelta(seconds=1)
    EngineThrottle.objects.update(until=past)
    Version.objects.update(retry_at=past)
    DBTaskResult.objects.filter(status="READY").update(run_after=past)
    completes(double, "int-after-1", landscape_mp4, polls=0)
    completes(double, "int-after-2", landscape_mp4, polls=0)
    tasks()
    statuses = set(Version.objects.values_list("status", flat=True))
    assert statuses == {Version.Status.READY}
    assert len(double.creates) == 3


def test_budget_exceeded_is_its_own_failure(project, member, tasks, double):
    double.on_create(interaction("int-budget", "queued"))
    double.script("int-budget", interaction("int-budget", "budget_exceeded"))
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert (version.status, version.error_kind) == (Version.Status.FAILED, "budget_exceeded")


def test_a_timeout_on_create_asks_the_user_and_never_pays_twice(
    project, member, tasks, double, settings
):
    settings.GEMINI_TIMEOUT_SECONDS = 0.5
    get_engine.cache_clear()
    double.on_create(Reply(json=interaction("int-slow", "queued"), delay=2.0))
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.RECONCILE
    assert len(double.creates) == 1
    sweeper.versions_sweep(on_startup=True)
    tasks()
    assert len(double.creates) == 1


def test_cancel_calls_the_apis_cancel(project, member, tasks, double, settings):
    settings.STUDIO_POLL_SECONDS = 60
    double.on_create(interaction("int-cancel", "queued"))
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.GENERATING
    decisions.version_cancel(version=version, membership=member)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.CANCELLED
    assert len(double.cancels) == 1


def test_region_policy_refuses_model_edits_of_uploaded_clips(
    project, member, tasks, double, landscape_mp4
):
    Workspace.objects.filter(pk=project.workspace_id).update(region=Workspace.Region.EEA)
    project.workspace.refresh_from_db()
    upload = versions.version_create_upload(
        project=project,
        membership=member,
        author=member.user,
        upload=SimpleUploadedFile("clip.mp4", landscape_mp4, "video/mp4"),
    )
    tasks()
    upload.refresh_from_db()
    with pytest.raises(StudioError, match="cannot edit uploaded videos"):
        generate(project, member, kind="edit", parent=upload, prompt="Make it night.")
    local = generate(
        project, member, kind="edit", parent=upload, prompt="Make it warmer.", engine="local"
    )
    assert local.engine == "local"
    assert double.creates == []


def test_region_policy_asks_about_minors_before_taking_a_still(logged_in, project, double):
    Workspace.objects.filter(pk=project.workspace_id).update(region=Workspace.Region.UK)
    data = {
        "mode": "image",
        "engine": "gemini",
        "prompt": "Push in",
        "aspect_ratio": "16:9",
        "resolution": "720p",
        "duration_seconds": "5",
        "image": SimpleUploadedFile("p.png", image_bytes(), "image/png"),
    }
    page = logged_in.get(project.get_absolute_url())
    assert "may not be given images of minors" in page.text
    response = logged_in.post(
        reverse("version_generate", args=[project.pk]), data, headers={"HX-Request": "true"}
    )
    assert "does not show anyone under 18" in response.text
    assert not Version.objects.exists()
    assert not project.assets.exists()


def test_the_composer_offers_only_what_the_engine_can_do(logged_in, project, double):
    gemini = logged_in.get(reverse("composer", args=[project.pk]) + "?engine=gemini").text
    local = logged_in.get(reverse("composer", args=[project.pk]) + "?engine=local").text
    assert '<option value="480p"' not in gemini and '<option value="480p"' in local
    assert "From references" in gemini and "From references" not in local
    assert "by generating 16:9 and reframing it here" in gemini
    estimate = logged_in.get(
        reverse("cost_estimate", args=[project.pk])
        + "?engine=gemini&duration_seconds=8&resolution=1080p"
    )
    assert "Estimated cost: $0.80" in estimate.text


def test_a_busy_poll_is_waited_out_in_the_queue_not_by_a_sleeping_worker(
    project, member, tasks, double, landscape_mp4
):
    completes(double, "int-busy", landscape_mp4, polls=0)
    double.reply_once(
        "GET",
        r"/interactions/int-busy$",
        api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "2"}),
    )
    version = generate(project, member)
    tasks()
    version.refresh_from_db()
    # One poll, handed back: the worker was free for other versions.
    assert len(double.gets("int-busy")) == 1
    assert (version.status, version.error_kind) == (Version.Status.GENERATING, "rate_limited")
    later = DBTaskResult.objects.get(status="READY")
    wait = (later.run_after - timezone.now()).total_seconds()
    assert 1 < wait <= 2.5 and version.retry_at == later.run_after
    # Time passes; the next worker to look finishes it, without paying again.
    past = timezone.now() - timedelta(seconds=1)
    Version.objects.filter(pk=version.pk).update(retry_at=past)
    DBTaskResult.objects.filter(pk=later.pk).update(run_after=past)
    tasks()
    version.refresh_from_db()
    assert version.status == Version.Status.READY, version.error_message
    assert len(double.creates) == 1


def test_a_poll_that_answers_again_clears_the_busy_message(
    project, member, tasks, double, landscape_mp4, settings
):
    settings.STUDIO_POLL_SECONDS = 60  # each poll waits in the queue until made due
    completes(double, "int-recovers", landscape_mp4, polls=2)
    double.reply_once(
        "GET",
        r"/interactions/int-recovers$",
        api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "2"}),
    )
    version = generate(project, member)

    def next_poll():
        past = timezone.now() - timedelta(seconds=1)
        Version.objects.filter(pk=version.pk).update(retry_at=past)
        DBTaskResult.objects.filter(status="READY").update(run_after=past)
        tasks()
        version.refresh_from_db()

    tasks()
    for _ in range(3):  # the first poll may wait in the queue
        if double.gets("int-recovers"):
            break
        next_poll()
    version.refresh_from_db()
    assert version.error_kind == "rate_limited" and len(double.gets("int-recovers")) == 1
    next_poll()
    # Still generating, and the page no longer says the API is busy.
    assert len(double.gets("int-recovers")) == 2
    assert version.status == Version.Status.GENERATING
    assert (version.error_kind, version.error_message, version.retry_at) == ("", "", None)
