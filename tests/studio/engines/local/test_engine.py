"""The local engine renders real MP4s: these tests decode them with PyAV."""

from __future__ import annotations

import itertools
import tempfile
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from studio.engines.base import (
    FPS,
    EngineError,
    ErrorKind,
    GenerationRequest,
    Task,
    frame_size,
)
from studio.engines.local.engine import LocalEngine
from studio.engines.video import probe_video
from tests.studio.engines.clips import SAME, audio_seconds, decode_frames, mad, red_mask
from tests.studio.engines.local.conftest import (
    edit_request,
    image_request,
    render,
    text_request,
)


def test_capabilities(engine: LocalEngine) -> None:
    capabilities = engine.capabilities()
    assert capabilities.name == engine.name == "local"
    assert capabilities.tasks == {Task.TEXT_TO_VIDEO, Task.IMAGE_TO_VIDEO, Task.EDIT, Task.EXTEND}
    assert capabilities.aspect_ratios == ("16:9", "9:16", "1:1")
    assert capabilities.resolutions == ("480p", "720p", "1080p")
    assert list(capabilities.durations) == list(range(3, 11))
    assert (capabilities.max_images, capabilities.max_videos) == (1, 0)
    assert capabilities.max_prompt_chars == 4000
    assert capabilities.reports_percent


@pytest.mark.parametrize("aspect_ratio", ["16:9", "9:16", "1:1"])
def test_text_to_video_makes_the_requested_mp4(
    engine: LocalEngine, tmp_path: Path, aspect_ratio: str
) -> None:
    path = render(engine, text_request("A lighthouse in a storm", aspect_ratio), tmp_path / "a.mp4")

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        assert video.codec_context.name == "h264"
        assert video.codec_context.format.name == "yuv420p"
        assert (video.codec_context.width, video.codec_context.height) == frame_size(
            aspect_ratio, "480p"
        )
        assert video.average_rate == FPS
        assert abs(float(video.duration * video.time_base) - 3.0) <= 1 / FPS
        assert abs(container.duration / av.time_base - 3.0) <= 1 / FPS
        audio = container.streams.audio[0]
        assert audio.codec_context.name == "aac"
        assert audio.codec_context.sample_rate == 48_000
        assert audio.codec_context.layout.nb_channels == 2
    assert len(decode_frames(path)) == 3 * FPS
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS
    # +faststart: the index comes before the media data.
    head = path.read_bytes()
    assert head.index(b"moov") < head.index(b"mdat")


def test_text_to_video_moves_and_is_audible(engine: LocalEngine, tmp_path: Path) -> None:
    path = render(engine, text_request("Neon night market. Rain."), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert mad(frames[0], frames[-1]) > SAME
    assert mad(frames[0], frames[FPS]) > 1.0
    with av.open(str(path)) as container:
        samples = np.concatenate(
            [frame.to_ndarray() for frame in container.decode(audio=0)], axis=1
        )
    middle = samples[:, samples.shape[1] // 3 : 2 * samples.shape[1] // 3]
    assert 0.01 < float(np.sqrt((middle**2).mean())) < 0.5


def test_variations_of_a_prompt_differ_and_each_is_repeatable(
    engine: LocalEngine, tmp_path: Path
) -> None:
    prompt = "A paper lantern drifting over a lake"
    plain = decode_frames(render(engine, text_request(prompt), tmp_path / "plain.mp4"))
    varied = [
        decode_frames(
            render(engine, replace(text_request(prompt), seed=seed), tmp_path / f"{name}.mp4")
        )
        for name, seed in (("a", 11), ("b", 12), ("a-again", 11))
    ]
    assert mad(plain[FPS], varied[0][FPS]) > SAME
    assert mad(varied[0][FPS], varied[1][FPS]) > SAME
    assert mad(varied[0][FPS], varied[2][FPS]) <= SAME


def test_submit_is_deterministic_and_cheap(engine: LocalEngine, still: Path) -> None:
    first = engine.submit(text_request("A lighthouse"))
    assert first.interaction_id == engine.submit(text_request("A lighthouse")).interaction_id
    assert first.interaction_id.startswith("local-")
    assert len(first.interaction_id) == len("local-") + 32
    assert first.model == "local-1"
    assert first.interaction_id != engine.submit(text_request("A lighthouse.")).interaction_id
    assert first.interaction_id != engine.submit(text_request("A lighthouse", "1:1")).interaction_id


def test_interaction_id_covers_file_contents(
    engine: LocalEngine, tmp_path: Path, still: Path
) -> None:
    copy = tmp_path / "still.png"
    copy.write_bytes(still.read_bytes())
    before = engine.submit(image_request("pan left", copy)).interaction_id
    Image.new("RGB", (64, 36), (9, 9, 9)).save(copy)
    assert engine.submit(image_request("pan left", copy)).interaction_id != before


def test_text_to_video_refuses_bad_requests(engine: LocalEngine) -> None:
    for request in [
        text_request("   "),
        GenerationRequest(Task.TEXT_TO_VIDEO, "A cat", "4:3", "480p", 3),
        GenerationRequest(Task.TEXT_TO_VIDEO, "A cat", "16:9", "4k", 3),
        GenerationRequest(Task.TEXT_TO_VIDEO, "A cat", "16:9", "480p", 11),
        GenerationRequest(Task.REFERENCE_TO_VIDEO, "A cat", "16:9", "480p", 3),
        text_request("x" * 4001),
    ]:
        with pytest.raises(EngineError) as caught:
            engine.submit(request)
        assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_image_to_video_pans_at_the_requested_aspect(
    engine: LocalEngine, tmp_path: Path, still: Path
) -> None:
    submission = engine.submit(image_request("pan right over the square", still, "9:16"))
    assert "pan right" in submission.note
    path = render(
        engine, image_request("pan right over the square", still, "9:16"), tmp_path / "a.mp4"
    )

    info = probe_video(path)
    assert (info.width, info.height) == frame_size("9:16", "480p")
    assert info.frame_count == 3 * FPS
    assert info.has_audio
    frames = decode_frames(path)
    assert len(frames) == 3 * FPS
    assert mad(frames[0], frames[-1]) > SAME

    def square_centre_x(frame: np.ndarray) -> float:
        return float(np.nonzero(red_mask(frame))[1].mean())

    # The camera moves right, so the square slides left, steadily.
    xs = [square_centre_x(frames[index]) for index in range(0, 3 * FPS, 8)]
    assert xs[-1] < xs[0] - 20
    assert all(later <= earlier + 1 for earlier, later in itertools.pairwise(xs))


def test_push_in_makes_the_centre_grow(engine: LocalEngine, tmp_path: Path, still: Path) -> None:
    path = render(engine, image_request("push in", still), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert (frames[0].shape[1], frames[0].shape[0]) == frame_size("16:9", "480p")
    first, last = red_mask(frames[0]).sum(), red_mask(frames[-1]).sum()
    assert last > first * 1.25
    # The still was cover-cropped, not squashed: the square stays square.
    rows, columns = np.nonzero(red_mask(frames[-1]))
    assert abs((np.ptp(rows) + 1) / (np.ptp(columns) + 1) - 1) < 0.05


def test_image_to_video_refuses_missing_or_broken_images(
    engine: LocalEngine, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not an image at all")
    for path in [tmp_path / "missing.png", broken]:
        with pytest.raises(EngineError) as caught:
            engine.submit(image_request("pan left", path))
        assert caught.value.kind is ErrorKind.INVALID_INPUT
    no_image = GenerationRequest(Task.IMAGE_TO_VIDEO, "pan left", "16:9", "480p", 3)
    with pytest.raises(EngineError) as caught:
        engine.submit(no_image)
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_unknown_instruction_is_refused_before_any_work(engine: LocalEngine, parent: Path) -> None:
    with pytest.raises(EngineError) as caught:
        engine.submit(edit_request("Make it warmer, and make the cat dance", parent))
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    message = caught.value.message
    assert '"make the cat dance"' in message
    for understood in ["reframe", "text", "trim", "slow motion", "reverse", "black and white"]:
        assert understood in message
    for prompt in ["keep everything else the same", "", "add text LAUNCH", "reframe to 4:3"]:
        with pytest.raises(EngineError) as caught:
            engine.submit(edit_request(prompt, parent))
        assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD


def test_edit_refuses_a_missing_or_broken_parent(engine: LocalEngine, tmp_path: Path) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    for path in [tmp_path / "missing.mp4", broken]:
        with pytest.raises(EngineError) as caught:
            engine.submit(edit_request("reverse", path))
        assert caught.value.kind is ErrorKind.INVALID_INPUT
    no_parent = GenerationRequest(Task.EDIT, "reverse", "16:9", "480p", 3)
    with pytest.raises(EngineError) as caught:
        engine.submit(no_parent)
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_progress_is_reported_once_per_frame(engine: LocalEngine, tmp_path: Path) -> None:
    request = text_request("A lighthouse")
    submission = engine.submit(request)
    fractions: list[float] = []
    result = engine.poll(submission.interaction_id, request, progress=fractions.append)
    assert len(fractions) == 3 * FPS
    assert all(later > earlier for earlier, later in itertools.pairwise(fractions))
    assert 0 < fractions[0] < 0.05
    assert fractions[-1] == 1.0
    assert result.output is not None and result.output.path is not None

    destination = tmp_path / "out" / "video.mp4"
    engine.fetch_output(result.output, destination)
    assert destination.stat().st_size > 10_000
    assert not result.output.path.exists()
    assert not result.output.path.parent.exists()


@pytest.mark.parametrize("task", ["text", "edit"])
def test_a_raising_progress_callback_stops_and_cleans_up(
    engine: LocalEngine,
    tmp_path: Path,
    parent: Path,
    monkeypatch: pytest.MonkeyPatch,
    task: str,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    request = text_request("A lighthouse") if task == "text" else edit_request("reverse", parent)
    submission = engine.submit(request)
    calls: list[float] = []

    def cancelled(fraction: float) -> None:
        calls.append(fraction)
        if len(calls) == 10:
            raise RuntimeError("cancelled")

    with pytest.raises(RuntimeError, match="cancelled"):
        engine.poll(submission.interaction_id, request, progress=cancelled)
    assert len(calls) == 10
    assert list(scratch.iterdir()) == []
    engine.cancel(submission.interaction_id)


def test_check_instruction_reads_the_edit_without_any_file(engine: LocalEngine) -> None:
    assert engine.check_instruction("Make it warmer. Keep everything else the same.") is None
    with pytest.raises(EngineError) as caught:
        engine.check_instruction("Make it look cool")
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    assert 'could not place "cool"' in caught.value.message
    with pytest.raises(EngineError) as caught:
        engine.check_instruction("trim to 0.5s")
    assert caught.value.kind is ErrorKind.INVALID_INPUT


@pytest.mark.parametrize("fps", [12, 24, 30])
def test_new_videos_are_made_at_the_requested_frame_rate(
    engine: LocalEngine, tmp_path: Path, fps: int
) -> None:
    prompts = {"text": text_request("A lighthouse in a storm"), "still": None}
    still = tmp_path / "still.png"
    Image.new("RGB", (640, 480), (200, 60, 30)).save(still)
    prompts["still"] = image_request("Slow push in", still)
    for name, request in prompts.items():
        path = render(engine, replace(request, fps=fps), tmp_path / f"{name}.mp4")
        info = probe_video(path)
        assert info.fps == fps
        assert info.frame_count == len(decode_frames(path)) == 3 * fps
        assert abs(info.duration_seconds - 3.0) <= 1 / fps
        assert abs(audio_seconds(path) - 3.0) <= 1 / fps


def test_a_frame_rate_the_engine_does_not_make_is_refused(engine: LocalEngine) -> None:
    with pytest.raises(EngineError, match="12, 24, 30 fps video, not 25 fps") as refused:
        engine.submit(replace(text_request("A lighthouse"), fps=25))
    assert refused.value.kind is ErrorKind.INVALID_INPUT
    assert engine.capabilities().frame_rates == (12, 24, 30)


def test_the_frame_rate_names_another_interaction(engine: LocalEngine) -> None:
    request = text_request("A lighthouse")
    ids = {engine.submit(replace(request, fps=fps)).interaction_id for fps in (12, 24, 30)}
    assert len(ids) == 3
    assert engine.submit(request).interaction_id == engine.submit(request).interaction_id
