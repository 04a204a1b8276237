"""GeminiEngine against the real google-genai SDK and a local HTTP double.

Everything goes through ``GeminiEngine(api_key=..., base_url=<double>,
sleep=<recorder>)``; waits are asserted on the recorded sleeps, never on the
clock. The wire format is documented in interactions_double.
"""

from __future__ import annotations

import base64
import email.utils
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from google import genai
from google.genai import types as genai_types

from studio.engines.base import (
    Engine,
    EngineError,
    ErrorKind,
    PollState,
    SubmissionUncertain,
    Task,
    VideoOutput,
)
from studio.engines.gemini.engine import DEFAULT_MODEL, KNOWN_MODELS, PREVIEW_MODEL, GeminiEngine

from .conftest import FAKE_MP4, FAKE_PNG, make_request
from .interactions_double import (
    API_KEY,
    SDK_VERSION_CHECKED,
    GeminiDouble,
    Reply,
    api_error,
    interaction,
)

CREATE_PATH = r"^/v1[a-z0-9]*/interactions$"


def never(_fraction: float) -> None:
    raise AssertionError("Gemini gives no percentage; progress must not be reported")


def expected_body(**overrides) -> dict:
    body = {
        "model": DEFAULT_MODEL,
        "background": True,
        "store": True,
        "input": [
            {
                "type": "user_input",
                "content": [{"type": "text", "text": make_request().prompt}],
            }
        ],
        "response_format": {
            "type": "video",
            "aspect_ratio": "16:9",
            "resolution": "720p",
            "duration": "8s",
            "fps": 24,
            "delivery": "uri",
        },
        "generation_config": {"video_config": {"task": "text_to_video"}},
    }
    body.update(overrides)
    return body


def content_of(record) -> list[dict]:
    [step] = record.json["input"]
    assert step["type"] == "user_input"
    return step["content"]


# -- the SDK and the engine's shape ---------------------------------------------


def test_sdk_version_matches_the_checked_wire_format():
    assert genai.__version__ == SDK_VERSION_CHECKED


def test_default_model_is_the_newest_omni_flash_the_sdk_lists():
    from google.genai._gaos.types.interactions.model import Model

    listed = [m for m in Model.__args__[0].__args__ if "omni" in m]
    assert DEFAULT_MODEL == "gemini-omni-1.2-flash" == listed[0]
    assert set(KNOWN_MODELS) == set(listed)
    assert PREVIEW_MODEL in listed


def test_engine_satisfies_the_protocol_and_declares_capabilities(engine):
    assert isinstance(engine, Engine)
    assert engine.name == "gemini"
    caps = engine.capabilities()
    assert caps.tasks == frozenset(Task)
    assert set(caps.aspect_ratios) == {"16:9", "9:16", "1:1"}
    assert caps.reframed_aspect_ratios == frozenset({"1:1"})
    assert caps.resolutions == ("720p", "1080p")
    assert list(caps.durations) == list(range(3, 11))
    assert (caps.max_images, caps.max_videos) == (10, 3)
    assert caps.reports_percent is False


def test_a_variation_sends_its_seed_and_others_leave_it_to_the_model(double, engine):
    engine.submit(make_request(seed=417))
    engine.submit(make_request())
    seeded, unseeded = double.creates
    assert seeded.json == expected_body(
        generation_config={"video_config": {"task": "text_to_video"}, "seed": 417}
    )
    assert unseeded.json == expected_body()


def test_any_edit_instruction_is_left_to_the_model(double, engine):
    for instruction in ["Make it look cool", "make the cat dance", "reframe to 4:3"]:
        assert engine.check_instruction(instruction) is None
    assert double.requests == []


def test_the_engine_takes_an_api_key_as_an_option():
    with pytest.raises(ValueError, match="needs an API key"):
        GeminiEngine(api_key="")


def test_sdk_default_retries_would_post_create_again(double):
    """Why the engine turns retries off: a bare client re-POSTs a paid create."""
    double.reply_once(
        "POST",
        CREATE_PATH,
        api_error(503, "service_unavailable", "Overloaded.", **{"retry-after-ms": "1"}),
        times=4,
    )
    client = genai.Client(
        api_key=API_KEY, http_options=genai_types.HttpOptions(base_url=double.url, timeout=5000)
    )
    client.interactions.create(model=DEFAULT_MODEL, input="x", background=True, store=True)
    assert len(double.creates) == 5


# -- a generation's life --------------------------------------------------------


def test_text_to_video_sends_the_documented_request_and_completes_after_polls(
    double, engine, tmp_path
):
    double.on_create(interaction("int-1", "queued"))
    video_url = double.serve_blob("/outputs/int-1.mp4", FAKE_MP4)
    usage = {"total_input_tokens": 12, "total_output_tokens": 3400, "total_tokens": 3412}
    double.script(
        "int-1",
        interaction("int-1", "queued"),
        interaction("int-1", "in_progress"),
        interaction("int-1", "in_progress"),
        interaction("int-1", "completed", video_uri=video_url, usage=usage),
    )
    request = make_request()

    submission = engine.submit(request)

    assert submission.interaction_id == "int-1"
    assert submission.model == DEFAULT_MODEL
    assert submission.route == "new interaction"
    assert submission.output is None
    assert submission.uploads == ()
    assert submission.note == ""
    [create] = double.creates
    assert create.json == expected_body()
    assert create.headers["x-goog-api-key"] == API_KEY

    states = []
    for _ in range(4):
        result = engine.poll("int-1", request, progress=never)
        assert result.fraction is None
        states.append(result.state)
    assert states == [PollState.QUEUED, PollState.RUNNING, PollState.RUNNING, PollState.COMPLETED]
    assert result.output == VideoOutput(uri=video_url, mime_type="video/mp4")
    assert result.usage is not None
    assert (result.usage.input_tokens, result.usage.output_tokens) == (12, 3400)
    assert result.usage.total_tokens == 3412
    assert len(double.gets("int-1")) == 4
    assert double.gets("int-1")[0].query == {"stream": ["false"]}

    destination = tmp_path / "out" / "v1.mp4"
    engine.fetch_output(result.output, destination)
    assert destination.read_bytes() == FAKE_MP4
    [download] = double.matching("GET", r"^/outputs/")
    assert download.headers["x-goog-api-key"] == API_KEY
    assert len(double.creates) == 1


def test_inline_data_output_is_decoded_and_written(double, engine, tmp_path):
    submission = engine.submit(make_request())
    double.script(
        submission.interaction_id,
        interaction(submission.interaction_id, "completed", video_data=FAKE_MP4),
    )

    result = engine.poll(submission.interaction_id, make_request(), progress=never)

    assert result.state is PollState.COMPLETED
    assert result.output is not None and result.output.data == FAKE_MP4
    destination = tmp_path / "inline.mp4"
    engine.fetch_output(result.output, destination)
    assert destination.read_bytes() == FAKE_MP4


def test_output_uri_named_only_by_the_create_response(double, engine, tmp_path):
    video_url = double.serve_blob("/outputs/int-9.mp4", FAKE_MP4)
    double.on_create(interaction("int-9", "in_progress", video_uri=video_url))
    double.script("int-9", interaction("int-9", "completed"))

    submission = engine.submit(make_request())
    result = engine.poll("int-9", make_request(), progress=never)

    assert submission.output == VideoOutput(uri=video_url, mime_type="video/mp4")
    assert result.state is PollState.COMPLETED
    assert result.output is None  # The caller keeps the uri from the Submission.
    destination = tmp_path / "from-create.mp4"
    engine.fetch_output(submission.output, destination)
    assert destination.read_bytes() == FAKE_MP4


def test_completed_with_text_and_no_video_is_reported(double, engine):
    double.script("int-t", interaction("int-t", "completed", text="Which marble colour?"))
    with pytest.raises(EngineError) as caught:
        engine.poll("int-t", make_request(), progress=never)
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    assert "Which marble colour?" in caught.value.message


def test_a_new_worker_resumes_by_polling_the_stored_id(double, make_engine):
    """A worker killed right after create: the id was stored, so another
    engine instance polls it and nothing is created twice."""
    first = make_engine()
    interaction_id = first.submit(make_request()).interaction_id
    del first
    double.script(interaction_id, interaction(interaction_id, "completed", video_data=FAKE_MP4))

    second = make_engine()
    result = second.poll(interaction_id, make_request(), progress=never)

    assert result.state is PollState.COMPLETED
    assert len(double.creates) == 1
    assert len(double.gets(interaction_id)) == 1


# -- inputs -----------------------------------------------------------------------


def test_images_go_inline_as_base64(double, engine, media):
    images = (media("still-1", "image"), media("still-2", "image", data=FAKE_PNG + b"2"))

    engine.submit(make_request(task=Task.IMAGE_TO_VIDEO, images=images))

    [create] = double.creates
    assert content_of(create) == [
        {"type": "image", "data": base64.b64encode(FAKE_PNG).decode(), "mime_type": "image/png"},
        {
            "type": "image",
            "data": base64.b64encode(FAKE_PNG + b"2").decode(),
            "mime_type": "image/png",
        },
        {"type": "text", "text": make_request().prompt},
    ]
    assert create.json["generation_config"] == {"video_config": {"task": "image_to_video"}}
    assert double.upload_starts == []


def test_video_inputs_are_uploaded_and_awaited_until_active(double, engine, media, sleeps):
    double.next_file_states = ["PROCESSING", "PROCESSING", "ACTIVE"]
    clip = media("clip-1", data=FAKE_MP4 + b"clip")

    submission = engine.submit(make_request(task=Task.REFERENCE_TO_VIDEO, videos=(clip,)))

    [start] = double.upload_starts
    assert start.headers["x-goog-upload-protocol"] == "resumable"
    assert start.headers["x-goog-upload-command"] == "start"
    assert start.headers["x-goog-upload-header-content-type"] == "video/mp4"
    assert start.json["file"]["mime_type"] == "video/mp4"
    assert start.json["file"]["size_bytes"] == len(FAKE_MP4 + b"clip")
    assert double.uploaded_bytes == [FAKE_MP4 + b"clip"]
    assert len(double.file_gets) == 2  # PROCESSING, then ACTIVE.
    assert len(sleeps.calls) == 2 and all(s > 0 for s in sleeps.calls)

    [upload] = submission.uploads
    assert upload.key == "clip-1"
    assert upload.uri.endswith("/files/file-1")
    assert upload.expires_at is not None
    assert upload.expires_at - datetime.now(UTC) > timedelta(hours=47)
    [create] = double.creates
    assert content_of(create)[0] == {"type": "video", "uri": upload.uri, "mime_type": "video/mp4"}
    assert create.json["generation_config"]["video_config"]["task"] == "reference_to_video"


def test_an_unexpired_remote_uri_is_reused_and_a_nearly_expired_one_is_not(double, engine, media):
    fresh = media(
        "fresh",
        remote_uri="https://generativelanguage.googleapis.com/v1/files/fresh",
        remote_expires_at=datetime.now(UTC) + timedelta(hours=40),
    )
    stale = media(
        "stale",
        remote_uri="https://generativelanguage.googleapis.com/v1/files/stale",
        remote_expires_at=datetime.now(UTC) + timedelta(minutes=20),
    )

    submission = engine.submit(make_request(task=Task.REFERENCE_TO_VIDEO, videos=(fresh, stale)))

    uris = [block["uri"] for block in content_of(double.creates[0]) if block["type"] == "video"]
    assert uris[0] == fresh.remote_uri
    assert uris[1] != stale.remote_uri
    assert [u.key for u in submission.uploads] == ["stale"]
    assert len(double.upload_starts) == 1


def test_a_video_the_files_api_cannot_process_is_refused_before_paying(double, engine, media):
    double.next_file_states = ["PROCESSING", "FAILED"]
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request(task=Task.REFERENCE_TO_VIDEO, videos=(media("bad"),)))
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert "could not be decoded" in caught.value.message
    assert double.creates == []


def test_waiting_for_a_file_is_bounded(double, make_engine, media, sleeps):
    double.next_file_states = ["PROCESSING"]
    engine = make_engine(file_wait_seconds=10)
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request(task=Task.REFERENCE_TO_VIDEO, videos=(media("slow"),)))
    assert caught.value.kind is ErrorKind.TIMED_OUT
    assert 10 <= sum(sleeps.calls) < 25
    assert double.creates == []


def test_an_expired_file_during_the_wait_is_input_expired(double, engine, media):
    double.next_file_states = ["PROCESSING", "ACTIVE"]
    double.reply_once(
        "GET", r"/files/", api_error(404, "not_found", "File files/file-1 has expired.")
    )
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request(task=Task.REFERENCE_TO_VIDEO, videos=(media("gone"),)))
    assert caught.value.kind is ErrorKind.INPUT_EXPIRED
    assert "has expired" in caught.value.message


# -- edits ----------------------------------------------------------------------


def test_an_edit_continues_the_stored_interaction(double, engine, media):
    parent = media("parent-video")
    request = make_request(
        task=Task.EDIT,
        prompt="Slow motion. Keep everything else the same.",
        previous_interaction_id="int-parent",
        parent_video=parent,
    )

    submission = engine.submit(request)

    assert submission.route == "continued interaction"
    assert submission.uploads == ()
    [create] = double.creates
    assert create.json["previous_interaction_id"] == "int-parent"
    assert create.json["generation_config"] == {"video_config": {"task": "edit"}}
    assert content_of(create) == [{"type": "text", "text": request.prompt}]
    assert create.json["background"] is True and create.json["store"] is True
    assert double.upload_starts == []


@pytest.mark.parametrize(
    "refusal",
    [
        api_error(404, "not_found", "Interaction int-parent was not found."),
        api_error(400, "invalid_request", "previous_interaction_id int-parent is not stored."),
        api_error(400, "invalid_request", "The previous interaction has expired."),
    ],
    ids=["404-not-found", "400-not-stored", "400-expired"],
)
def test_an_edit_falls_back_to_uploading_the_parent_video(double, engine, media, refusal):
    double.on_create(refusal, interaction("int-edit", "in_progress"))
    double.next_file_states = ["PROCESSING", "ACTIVE"]
    parent = media("parent-video", data=FAKE_MP4 + b"parent")
    request = make_request(
        task=Task.EDIT,
        prompt="Make it night, neon lighting.",
        previous_interaction_id="int-parent",
        parent_video=parent,
    )

    submission = engine.submit(request)

    assert submission.interaction_id == "int-edit"
    assert submission.route == "uploaded parent video"
    [upload] = submission.uploads
    assert upload.key == "parent-video"
    assert double.uploaded_bytes == [FAKE_MP4 + b"parent"]
    assert len(double.file_gets) == 1  # Waited for PROCESSING to turn ACTIVE.
    first, second = double.creates  # The refused one cost nothing.
    assert first.json["previous_interaction_id"] == "int-parent"
    assert "previous_interaction_id" not in second.json
    assert second.json["generation_config"] == {"video_config": {"task": "edit"}}
    assert content_of(second) == [
        {"type": "video", "uri": upload.uri, "mime_type": "video/mp4"},
        {"type": "text", "text": request.prompt},
    ]


def test_editing_a_local_version_uploads_its_video_without_asking(double, engine, media):
    request = make_request(
        task=Task.EDIT,
        prompt="Add on-screen text 'LAUNCH DAY'.",
        previous_interaction_id="local-3f2a",
        parent_video=media("parent-video"),
    )

    submission = engine.submit(request)

    assert submission.route == "uploaded parent video"
    [create] = double.creates
    assert "previous_interaction_id" not in create.json
    assert content_of(create)[0]["type"] == "video"


def test_an_extension_is_image_to_video_from_the_last_frame(double, engine, media):
    last_frame = media("last-frame", "image", data=FAKE_PNG + b"last")
    request = make_request(
        task=Task.EXTEND,
        prompt="Continue this shot: a kite over the dunes. The kite drifts out of frame.",
        duration_seconds=5,
        images=(last_frame,),
        # The parent's interaction and video are not used: continuing the
        # interaction would re-make the whole clip, not append to it.
        previous_interaction_id="int-parent",
        parent_video=media("parent-video"),
    )

    submission = engine.submit(request)

    assert submission.route == "image to video from the last frame"
    [create] = double.creates
    assert "previous_interaction_id" not in create.json
    assert create.json["generation_config"] == {"video_config": {"task": "image_to_video"}}
    assert create.json["response_format"]["duration"] == "5s"
    assert content_of(create) == [
        {
            "type": "image",
            "data": base64.b64encode(FAKE_PNG + b"last").decode(),
            "mime_type": "image/png",
        },
        {"type": "text", "text": request.prompt},
    ]
    assert double.upload_starts == []


def test_an_extension_without_its_last_frame_is_refused_before_paying(double, engine, media):
    request = make_request(task=Task.EXTEND, parent_video=media("parent-video"))
    with pytest.raises(EngineError, match="last frame") as caught:
        engine.submit(request)
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert double.creates == []


def test_an_edit_whose_parent_is_gone_and_has_no_video_is_input_expired(double, engine):
    double.on_create(api_error(404, "not_found", "Interaction int-old was not found."))
    request = make_request(task=Task.EDIT, previous_interaction_id="int-old")
    with pytest.raises(EngineError) as caught:
        engine.submit(request)
    assert caught.value.kind is ErrorKind.INPUT_EXPIRED
    assert len(double.creates) == 1


def test_an_unknown_model_is_not_mistaken_for_a_lost_parent(double, engine, media):
    double.on_create(api_error(404, "model_not_found", "Model gemini-omni-9 was not found."))
    request = make_request(
        task=Task.EDIT,
        model="gemini-omni-9",
        previous_interaction_id="int-parent",
        parent_video=media("parent-video"),
    )
    with pytest.raises(EngineError) as caught:
        engine.submit(request)
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert "gemini-omni-9 was not found" in caught.value.message
    assert len(double.creates) == 1
    assert double.upload_starts == []


# -- aspect ratio and limits ----------------------------------------------------


def test_square_asks_the_model_for_16_9_and_says_it_will_be_reframed(double, engine):
    submission = engine.submit(make_request(aspect_ratio="1:1", resolution="1080p"))

    [create] = double.creates
    assert create.json["response_format"]["aspect_ratio"] == "16:9"
    assert create.json["response_format"]["resolution"] == "1080p"
    assert "1:1" in submission.note and "16:9" in submission.note
    assert "reframe" in submission.note


def test_portrait_is_asked_for_as_is(double, engine):
    submission = engine.submit(make_request(aspect_ratio="9:16", duration_seconds=3))
    assert double.creates[0].json["response_format"]["aspect_ratio"] == "9:16"
    assert double.creates[0].json["response_format"]["duration"] == "3s"
    assert submission.note == ""


def test_the_preview_model_is_accepted(double, make_engine):
    make_engine(model=PREVIEW_MODEL).submit(make_request())
    assert double.creates[0].json["model"] == PREVIEW_MODEL


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({"images": "11"}, "10 images"),
        ({"videos": "4"}, "3 videos"),
        ({"duration_seconds": 12}, "3 to 10 seconds"),
        ({"duration_seconds": 2}, "3 to 10 seconds"),
        ({"prompt": "   "}, "empty"),
        ({"resolution": "480p"}, "480p"),
        ({"task": Task.IMAGE_TO_VIDEO}, "needs an image"),
        ({"model": "veo-3.1"}, "not a Gemini Omni model"),
    ],
    ids=["11-images", "4-videos", "12s", "2s", "empty-prompt", "480p", "i2v-no-image", "model"],
)
def test_known_limits_are_refused_before_any_request(double, engine, media, overrides, needle):
    overrides = dict(overrides)
    if overrides.get("images"):
        overrides["images"] = tuple(
            media(f"i{n}", "image") for n in range(int(overrides["images"]))
        )
    if overrides.get("videos"):
        overrides["videos"] = tuple(media(f"v{n}") for n in range(int(overrides["videos"])))
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request(**overrides))
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    assert needle in caught.value.message
    assert double.requests == []


# -- failures on create -----------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "kind", "message"),
    [
        (
            api_error(400, "invalid_request", "response_format.duration must be 3s to 10s."),
            ErrorKind.INVALID_INPUT,
            "response_format.duration must be 3s to 10s.",
        ),
        (
            api_error(
                400, "failed_precondition", "User location is not supported for the API use."
            ),
            ErrorKind.REGION_POLICY,
            "User location is not supported for the API use.",
        ),
        (
            api_error(400, "safety", "The prompt was blocked: it depicts a real minor."),
            ErrorKind.SAFETY_BLOCKED,
            "The prompt was blocked: it depicts a real minor.",
        ),
        (
            api_error(402, "payment_required", "The project's spend cap is reached."),
            ErrorKind.BUDGET_EXCEEDED,
            "The project's spend cap is reached.",
        ),
        (
            api_error(400, "invalid_request", "File files/abc is not found or has expired."),
            ErrorKind.INPUT_EXPIRED,
            "File files/abc is not found or has expired.",
        ),
        (
            api_error(500, "api_error", "Internal error."),
            ErrorKind.UNAVAILABLE,
            "Internal error.",
        ),
        (
            api_error(403, "permission_denied", "API key not valid."),
            ErrorKind.INVALID_INPUT,
            "API key not valid.",
        ),
    ],
    ids=["invalid", "region", "safety", "budget", "expired-file", "500", "key"],
)
def test_create_failures_map_to_kinds_with_the_apis_message(double, engine, reply, kind, message):
    double.on_create(reply)
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request())
    assert caught.value.kind is kind
    assert message in caught.value.message
    assert len(double.creates) == 1


def test_503_on_create_is_unavailable_after_exactly_one_post(double, engine, sleeps):
    double.on_create(api_error(503, "service_unavailable", "The model is overloaded."))
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request())
    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert "overloaded" in caught.value.message
    assert len(double.creates) == 1
    assert sleeps.calls == []


def test_429_on_create_is_rate_limited_with_retry_after_and_one_post(double, engine, sleeps):
    double.on_create(
        api_error(429, "rate_limit_exceeded", "Too many video requests.", **{"Retry-After": "17"})
    )
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request())
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 17
    assert "Too many video requests." in caught.value.message
    assert len(double.creates) == 1
    assert sleeps.calls == []


def test_retry_after_as_an_http_date(double, engine):
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    double.on_create(api_error(429, "quota_exceeded", "Daily quota.", **{"Retry-After": when}))
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request())
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after is not None and 90 <= caught.value.retry_after <= 121


def test_a_timeout_on_create_is_uncertain_and_never_retried(double, make_engine, sleeps):
    double.on_create(Reply(json=interaction("int-slow", "in_progress"), delay=1.5))
    engine = make_engine(timeout=0.4)
    with pytest.raises(SubmissionUncertain):
        engine.submit(make_request())
    assert len(double.creates) == 1
    assert sleeps.calls == []


def test_a_504_on_create_is_uncertain(double, engine):
    double.on_create(api_error(504, "deadline_exceeded", "Deadline exceeded."))
    with pytest.raises(SubmissionUncertain):
        engine.submit(make_request())
    assert len(double.creates) == 1


def test_a_refused_connection_on_create_is_certain_not_taken(double, sleeps):
    stopped = GeminiDouble().start()
    url = stopped.url
    stopped.stop()
    engine = GeminiEngine(api_key=API_KEY, base_url=url, sleep=sleeps, timeout=2)
    with pytest.raises(EngineError) as caught:
        engine.submit(make_request())
    assert caught.value.kind is ErrorKind.UNAVAILABLE


# -- failures while polling -------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "kind", "message"),
    [
        (
            interaction(
                "int-x",
                "failed",
                errors=[{"code": "safety", "message": "The output depicted graphic violence."}],
            ),
            ErrorKind.SAFETY_BLOCKED,
            "The output depicted graphic violence.",
        ),
        (
            interaction(
                "int-x",
                "failed",
                errors=[{"code": "video_other", "message": "Generation blocked."}],
            ),
            ErrorKind.SAFETY_BLOCKED,
            "Generation blocked.",
        ),
        (
            interaction(
                "int-x",
                "failed",
                step_error={"code": 3, "message": "Blocked by safety policy: weapons."},
            ),
            ErrorKind.SAFETY_BLOCKED,
            "Blocked by safety policy: weapons.",
        ),
        (
            interaction(
                "int-x",
                "failed",
                errors=[
                    {
                        "code": "failed_precondition",
                        "message": "Editing uploaded videos is not available in your country.",
                    }
                ],
            ),
            ErrorKind.REGION_POLICY,
            "not available in your country",
        ),
        (
            interaction(
                "int-x", "failed", errors=[{"code": "api_error", "message": "Renderer crashed."}]
            ),
            ErrorKind.UNAVAILABLE,
            "Renderer crashed.",
        ),
        (interaction("int-x", "cancelled"), ErrorKind.CANCELLED, "cancelled"),
        (
            interaction(
                "int-x",
                "incomplete",
                errors=[{"code": "max_tokens", "message": "Output token limit reached."}],
            ),
            ErrorKind.UNAVAILABLE,
            "Output token limit reached.",
        ),
        (interaction("int-x", "budget_exceeded"), ErrorKind.BUDGET_EXCEEDED, "budget"),
        (interaction("int-x", "requires_action"), ErrorKind.INVALID_INPUT, "cannot give"),
    ],
    ids=[
        "safety",
        "video-blocked",
        "step-error",
        "region",
        "other-failure",
        "cancelled",
        "incomplete",
        "budget",
        "requires-action",
    ],
)
def test_terminal_statuses_raise_the_right_kind(double, engine, body, kind, message):
    double.script("int-x", body)
    with pytest.raises(EngineError) as caught:
        engine.poll("int-x", make_request(), progress=never)
    assert caught.value.kind is kind
    assert message in caught.value.message


def test_429_on_poll_waits_at_least_retry_after(double, engine, sleeps):
    double.reply_once(
        "GET",
        r"/interactions/int-r$",
        api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "3"}),
    )
    double.script("int-r", interaction("int-r", "in_progress"))

    result = engine.poll("int-r", make_request(), progress=never)

    assert result.state is PollState.RUNNING
    assert len(sleeps.calls) == 1 and sleeps.calls[0] >= 3
    assert len(double.gets("int-r")) == 2


def test_poll_retries_5xx_with_growing_backoff_then_gives_up(double, make_engine, sleeps):
    double.reply_once(
        "GET", r"/interactions/int-5$", api_error(503, "service_unavailable", "Busy."), times=10
    )
    engine = make_engine(poll_retries=3)

    with pytest.raises(EngineError) as caught:
        engine.poll("int-5", make_request(), progress=never)

    assert caught.value.kind is ErrorKind.UNAVAILABLE
    assert caught.value.retry_after is not None and caught.value.retry_after > 0
    assert len(double.gets("int-5")) == 4
    assert len(sleeps.calls) == 3
    caps = [1.0, 2.0, 4.0]
    assert all(cap / 2 <= s <= cap for s, cap in zip(sleeps.calls, caps, strict=True))


def test_a_poll_timeout_is_retried(double, make_engine, sleeps):
    double.reply_once("GET", r"/interactions/int-s$", Reply(json={}, delay=1.2))
    double.script("int-s", interaction("int-s", "queued"))
    engine = make_engine(timeout=0.4)

    result = engine.poll("int-s", make_request(), progress=never)

    assert result.state is PollState.QUEUED
    assert len(double.gets("int-s")) == 2
    assert len(sleeps.calls) == 1


def test_a_long_retry_after_on_poll_is_handed_back_without_sleeping(double, engine, sleeps):
    double.reply_once(
        "GET",
        r"/interactions/int-l$",
        api_error(429, "quota_exceeded", "Quota.", **{"Retry-After": "600"}),
    )
    with pytest.raises(EngineError) as caught:
        engine.poll("int-l", make_request(), progress=never)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 600
    assert sleeps.calls == []
    assert len(double.gets("int-l")) == 1


@pytest.mark.parametrize(
    ("reply", "kind", "gets"),
    [
        (api_error(504, "deadline_exceeded", "Deadline exceeded."), ErrorKind.TIMED_OUT, 2),
        (api_error(500, "api_error", "Internal error."), ErrorKind.UNAVAILABLE, 2),
        (api_error(403, "permission_denied", "API key not valid."), ErrorKind.INVALID_INPUT, 1),
    ],
    ids=["504", "500", "403"],
)
def test_poll_http_errors_map_to_kinds_and_only_transient_ones_are_retried(
    double, make_engine, sleeps, reply, kind, gets
):
    double.reply_once("GET", r"/interactions/int-e$", reply, times=5)
    with pytest.raises(EngineError) as caught:
        make_engine(poll_retries=1).poll("int-e", make_request(), progress=never)
    assert caught.value.kind is kind
    assert reply.json["error"]["message"] in caught.value.message
    assert len(double.gets("int-e")) == gets
    assert len(sleeps.calls) == gets - 1


def test_polls_that_keep_timing_out_end_timed_out(double, make_engine, sleeps):
    double.reply_once("GET", r"/interactions/int-w$", Reply(json={}, delay=1.0), times=2)
    with pytest.raises(EngineError) as caught:
        make_engine(timeout=0.3, poll_retries=1).poll("int-w", make_request(), progress=never)
    assert caught.value.kind is ErrorKind.TIMED_OUT
    assert caught.value.retry_after is not None
    assert len(double.gets("int-w")) == 2
    assert len(sleeps.calls) == 1


def test_an_interaction_gemini_no_longer_has_is_input_expired(double, engine):
    double.reply_once(
        "GET", r"/interactions/int-g$", api_error(404, "not_found", "Interaction not found.")
    )
    with pytest.raises(EngineError) as caught:
        engine.poll("int-g", make_request(), progress=never)
    assert caught.value.kind is ErrorKind.INPUT_EXPIRED


# -- fetch and cancel -------------------------------------------------------------


def test_the_api_key_does_not_follow_a_redirect_to_another_host(double, engine, tmp_path):
    storage = GeminiDouble().start()
    try:
        signed = storage.serve_blob("/signed/out.mp4", FAKE_MP4, public=True)
        double.reply_once(
            "GET", r"^/outputs/r\.mp4$", Reply(status=302, headers={"location": signed})
        )
        destination = tmp_path / "redirected.mp4"

        engine.fetch_output(VideoOutput(uri=double.url + "/outputs/r.mp4"), destination)

        assert destination.read_bytes() == FAKE_MP4
        [fetched] = storage.requests
        assert "x-goog-api-key" not in fetched.headers
    finally:
        storage.stop()


def test_an_expired_output_link_is_input_expired(double, engine, tmp_path):
    destination = tmp_path / "never.mp4"
    with pytest.raises(EngineError) as caught:
        engine.fetch_output(VideoOutput(uri=double.url + "/outputs/expired.mp4"), destination)
    assert caught.value.kind is ErrorKind.INPUT_EXPIRED
    assert not destination.exists()
    assert list(tmp_path.iterdir()) == []


def test_an_output_named_as_a_files_api_resource_is_downloaded(double, engine, tmp_path):
    uri = double.add_generated_file("gen-1", FAKE_MP4)
    destination = tmp_path / "generated.mp4"

    engine.fetch_output(VideoOutput(uri=uri), destination)

    assert destination.read_bytes() == FAKE_MP4
    [download] = double.matching("GET", r"/files/gen-1:download$")
    assert download.query == {"alt": ["media"]}
    assert download.headers["x-goog-api-key"] == API_KEY


def test_fetching_a_local_path_copies_it(engine, tmp_path):
    source = tmp_path / "source.mp4"
    source.write_bytes(FAKE_MP4)
    destination = tmp_path / "copy.mp4"
    engine.fetch_output(VideoOutput(path=source), destination)
    assert destination.read_bytes() == FAKE_MP4


def test_cancel_calls_the_cancel_endpoint(double, engine):
    engine.cancel("int-c")
    [cancel] = double.cancels
    assert cancel.path.endswith("/interactions/int-c/cancel")
    assert cancel.headers["x-goog-api-key"] == API_KEY


def test_cancel_of_something_gemini_never_had_is_a_no_op(double, engine):
    double.reply_once("POST", r"/cancel$", api_error(404, "not_found", "No such interaction."))
    engine.cancel("int-gone")
    engine.cancel("local-1")
    assert len(double.cancels) == 1


def test_written_files_are_complete_or_absent(double, engine, tmp_path: Path):
    """fetch_output writes through a temporary file, so a failed download
    never leaves a truncated MP4 at the destination."""
    url = double.serve_blob("/outputs/ok.mp4", FAKE_MP4)
    destination = tmp_path / "final.mp4"
    engine.fetch_output(VideoOutput(uri=url), destination)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["final.mp4"]


def test_a_long_file_wait_keeps_the_studio_alive_and_announces_the_paid_call_once(
    double, engine, media, sleeps
):
    double.next_file_states = ["PROCESSING"] * 6 + ["ACTIVE"]
    double.on_create(interaction("int-long", "queued"))
    events = []
    request = make_request(
        task=Task.REFERENCE_TO_VIDEO,
        videos=(media("big-clip"),),
        keep_alive=lambda: events.append(("alive", len(double.file_gets))),
        paid_call_starting=lambda: events.append(("paid", len(double.creates))),
    )

    engine.submit(request)

    alive = [e for e in events if e[0] == "alive"]
    assert len(alive) >= 6, "the studio heard nothing while the file was processed"
    # Announced once, after every free step and before the create was sent.
    assert [e for e in events if e[0] == "paid"] == [("paid", 0)]
    assert events[-1][0] == "paid" and len(double.creates) == 1


def test_a_refused_announcement_stops_the_paid_call_unsent(double, engine, media, sleeps):
    class Lost(Exception):
        pass

    def refuse():
        raise Lost

    double.next_file_states = ["PROCESSING", "ACTIVE"]
    request = make_request(
        task=Task.REFERENCE_TO_VIDEO, videos=(media("clip"),), paid_call_starting=refuse
    )
    with pytest.raises(Lost):
        engine.submit(request)
    assert double.creates == []


def test_with_no_poll_retries_a_429_is_handed_back_at_once_with_its_wait(
    double, make_engine, sleeps
):
    double.reply_once(
        "GET",
        r"/interactions/int-h$",
        api_error(429, "rate_limit_exceeded", "Slow down.", **{"Retry-After": "2"}),
    )
    with pytest.raises(EngineError) as caught:
        make_engine(poll_retries=0).poll("int-h", make_request(), progress=never)
    assert caught.value.kind is ErrorKind.RATE_LIMITED
    assert caught.value.retry_after == 2
    assert sleeps.calls == [] and len(double.gets("int-h")) == 1


def test_the_sdks_request_and_answer_models_are_built_once(engine, double):
    from google.genai._gaos.utils import serializers

    double.on_create(interaction("int-a", "queued"), interaction("int-b", "queued"))
    built = []
    original = serializers.create_model

    def counting(name, /, **fields):
        model = original(name, **fields)
        built.append(model)
        return model

    serializers.create_model = counting
    try:
        for _ in range(2):
            engine.submit(make_request())
    finally:
        serializers.create_model = original
    # Each of the two creates asked for the same classes; they were made once.
    assert len(built) >= 4 and len({id(m) for m in built}) == len(built) // 2
    assert [c.json["model"] for c in double.creates] == [double.creates[0].json["model"]] * 2


def test_the_requested_frame_rate_reaches_the_model(double, engine):
    for fps in (12, 30):
        engine.submit(make_request(fps=fps))
    twelve, thirty = double.creates
    assert twelve.json["response_format"]["fps"] == 12
    assert thirty.json == expected_body(
        response_format={**expected_body()["response_format"], "fps": 30}
    )
    assert engine.capabilities().frame_rates == (12, 24, 30)


def test_a_frame_rate_the_model_does_not_make_is_refused_before_paying(double, engine):
    with pytest.raises(EngineError, match="12, 24, 30 fps video, not 25 fps"):
        engine.submit(make_request(fps=25))
    assert double.requests == []
