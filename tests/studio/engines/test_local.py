"""The local engine renders real MP4s: these tests decode them with PyAV."""

from __future__ import annotations

import itertools
import tempfile
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image, ImageDraw

from studio.engines.base import (
    FPS,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollState,
    Task,
    frame_size,
)
from studio.engines.local import (
    CameraMove,
    ChangeSpeed,
    ColorGrade,
    LocalEngine,
    Mute,
    Reframe,
    Reverse,
    TextOverlay,
    Trim,
    palette_for,
    parse_camera_move,
    parse_edit,
    probe_video,
    reframe_video,
    title_subject,
)

PARENT_SIZE = (852, 480)
PARENT_FRAMES = 3 * FPS

# Mean absolute difference (0-255) below which two decoded frames are the
# same picture after a lossy re-encode, and above which they clearly differ.
SAME = 3.0
DIFFERENT = 12.0


# --------------------------------------------------------------------------
# Helpers


def render(engine: LocalEngine, request: GenerationRequest, destination: Path) -> Path:
    submission = engine.submit(request)
    result = engine.poll(submission.interaction_id, request, progress=lambda fraction: None)
    assert result.state is PollState.COMPLETED
    assert result.fraction == 1.0
    assert result.output is not None
    engine.fetch_output(result.output, destination)
    return destination


def decode_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [
            frame.to_ndarray(format="rgb24").astype(np.int16) for frame in container.decode(video=0)
        ]


def audio_seconds(path: Path) -> float:
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        return sum(frame.samples for frame in container.decode(stream)) / stream.sample_rate


def mad(first: np.ndarray, second: np.ndarray) -> float:
    return float(np.abs(first - second).mean())


def write_parent(path: Path, *, audio: bool = True) -> Path:
    """A 3 s 16:9 clip that changes a lot from frame to frame: a background
    that shifts from blue to red, a moving white square, colour bars, and a
    440 Hz tone. Written with PyAV directly, independent of the engine."""
    width, height = PARENT_SIZE
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=FPS, options={"crf": "18"})
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        sound = None
        if audio:
            sound = container.add_stream("aac", rate=48_000)
            sound.layout = "stereo"
        for index in range(PARENT_FRAMES):
            level = round(index * 255 / (PARENT_FRAMES - 1))
            image = Image.new("RGB", (width, height), (level, 60, 255 - level))
            draw = ImageDraw.Draw(image)
            for bar, colour in enumerate([(255, 220, 0), (0, 200, 80), (0, 180, 255)]):
                draw.rectangle((bar * 90, height - 80, bar * 90 + 80, height), fill=colour)
            left = 20 + index * 10
            draw.rectangle((left, 150, left + 120, 270), fill=(255, 255, 255))
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, FPS)
            for packet in video.encode(frame):
                container.mux(packet)
            if sound is not None:
                start = index * 2000
                seconds = np.arange(start, start + 2000) / 48_000
                tone = (0.2 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(
                    np.stack([tone, tone]), format="fltp", layout="stereo"
                )
                chunk.sample_rate = 48_000
                chunk.pts = start
                chunk.time_base = Fraction(1, 48_000)
                for packet in sound.encode(chunk):
                    container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def write_still(path: Path) -> Path:
    """A 1920x1080 gradient with a red square in the middle."""
    ramp = np.linspace(30, 200, 1920, dtype=np.float64)
    pixels = np.zeros((1080, 1920, 3), dtype=np.uint8)
    pixels[..., 1] = ramp[None, :].astype(np.uint8)
    pixels[..., 2] = 120
    image = Image.fromarray(pixels, "RGB")
    ImageDraw.Draw(image).rectangle((860, 440, 1060, 640), fill=(255, 0, 0))
    image.save(path)
    return path


def red_mask(frame: np.ndarray) -> np.ndarray:
    red, green, blue = frame[..., 0], frame[..., 1], frame[..., 2]
    return (red > 180) & (green < 90) & (blue < 90)


def text_request(prompt: str, aspect_ratio: str = "16:9") -> GenerationRequest:
    return GenerationRequest(Task.TEXT_TO_VIDEO, prompt, aspect_ratio, "480p", 3)


def image_request(prompt: str, still: Path, aspect_ratio: str = "16:9") -> GenerationRequest:
    media = InputMedia("still", "image", still, "image/png")
    return GenerationRequest(Task.IMAGE_TO_VIDEO, prompt, aspect_ratio, "480p", 3, images=(media,))


def edit_request(prompt: str, parent: Path) -> GenerationRequest:
    media = InputMedia("parent", "video", parent, "video/mp4")
    return GenerationRequest(Task.EDIT, prompt, "16:9", "480p", 3, parent_video=media)


@pytest.fixture
def engine() -> LocalEngine:
    return LocalEngine()


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parent(tmp_path_factory.mktemp("parent") / "parent.mp4")


@pytest.fixture(scope="module")
def parent_frames(parent: Path) -> list[np.ndarray]:
    return decode_frames(parent)


@pytest.fixture(scope="module")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_still(tmp_path_factory.mktemp("still") / "still.png")


# --------------------------------------------------------------------------
# Text to video


def test_capabilities(engine: LocalEngine) -> None:
    capabilities = engine.capabilities()
    assert capabilities.name == engine.name == "local"
    assert capabilities.tasks == {Task.TEXT_TO_VIDEO, Task.IMAGE_TO_VIDEO, Task.EDIT}
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


def test_palette_and_subject_come_from_the_prompt() -> None:
    assert palette_for("A neon city at night").name == "night"
    assert palette_for("Sunset over the dunes").name == "sunset"
    assert palette_for("Deep in the forest").name == "forest"
    assert palette_for("Waves on the ocean").name == "ocean"
    assert palette_for("A cat on a sofa") == palette_for("A cat on a sofa")
    assert palette_for("A cat on a sofa").top != palette_for("A dog on a rug").top
    assert title_subject("A lighthouse in a storm. Waves crash.") == "A lighthouse in a storm"
    long = "An extraordinarily long opening sentence about a lighthouse keeper who " * 2
    assert len(title_subject(long)) <= 61
    assert title_subject(long).endswith("…")


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


# --------------------------------------------------------------------------
# Image to video


def test_camera_moves_are_read_from_the_prompt() -> None:
    assert parse_camera_move("Slow push in on her face") is CameraMove.PUSH_IN
    assert parse_camera_move("zoom out to reveal the city") is CameraMove.PULL_OUT
    assert parse_camera_move("Pull back slowly") is CameraMove.PULL_OUT
    assert parse_camera_move("pan left across the bay") is CameraMove.PAN_LEFT
    assert parse_camera_move("Pan to the right") is CameraMove.PAN_RIGHT
    assert parse_camera_move("tilt up to the sky") is CameraMove.TILT_UP
    assert parse_camera_move("tilt down") is CameraMove.TILT_DOWN
    assert parse_camera_move("locked off shot, static") is CameraMove.STATIC
    assert parse_camera_move("pan right, then zoom in") is CameraMove.PAN_RIGHT
    assert parse_camera_move("a quiet morning") is CameraMove.PUSH_IN


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


# --------------------------------------------------------------------------
# Edits


def test_black_and_white_keeps_everything_else(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("Make it black and white", parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == PARENT_SIZE
    assert info.fps == FPS
    assert info.has_audio
    frames = decode_frames(path)
    assert len(frames) == len(parent_frames) == PARENT_FRAMES
    for frame in frames[::12]:
        spread = frame.max(axis=2) - frame.min(axis=2)
        assert spread.mean() < 2.0
        assert np.percentile(spread, 99) <= 6
    # The parent was colourful, so this is a real change.
    assert (parent_frames[0].max(axis=2) - parent_frames[0].min(axis=2)).mean() > 50
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS


def test_a_look_can_hold_for_a_time_range_as_review_comments_write_it(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    prompt = "[0-1.5s] Make it black and white. Keep everything else the same."
    assert parse_edit(prompt) == [ColorGrade("grayscale", start=0.0, end=1.5)]
    path = render(engine, edit_request(prompt, parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    spread = [(f.max(axis=2) - f.min(axis=2)).mean() for f in frames]
    assert max(spread[:36]) < 2.0
    assert min(spread[36:]) > 50
    assert mad(frames[60], parent_frames[60]) < 3.0


def test_a_single_timecode_starts_text_then(engine: LocalEngine) -> None:
    assert parse_edit('[2s] Add on-screen text "SALE"') == [
        TextOverlay("SALE", position="center", start=2.0, end=None)
    ]


def test_reframe_to_portrait_changes_geometry_only(
    engine: LocalEngine, tmp_path: Path, parent: Path
) -> None:
    path = render(engine, edit_request("reframe to 9:16", parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == (480, 852)
    assert info.frame_count == PARENT_FRAMES
    assert len(decode_frames(path)) == PARENT_FRAMES
    assert info.has_audio


def test_text_shows_only_in_its_time_range(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    request = edit_request('add on-screen text "LAUNCH DAY" at the top from 1s to 2s', parent)
    path = render(engine, request, tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES

    def top_band(frame: np.ndarray) -> np.ndarray:
        return frame[: frame.shape[0] // 3]

    differences = [
        mad(top_band(frame), top_band(original))
        for frame, original in zip(frames, parent_frames, strict=True)
    ]
    inside = differences[FPS : 2 * FPS]
    outside = differences[:FPS] + differences[2 * FPS :]
    assert max(outside) < SAME
    assert min(inside) > DIFFERENT


def test_bracketed_time_range_and_default_position(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(
        engine, edit_request("add subtitles 'See you soon' [0-1s]", parent), tmp_path / "a.mp4"
    )
    frames = decode_frames(path)

    def band(frame: np.ndarray, part: slice) -> np.ndarray:
        return frame[part, 200:-200]

    bottom, middle = slice(-130, -20), slice(200, 280)
    assert mad(band(frames[10], bottom), band(parent_frames[10], bottom)) > DIFFERENT
    assert mad(band(frames[10], middle), band(parent_frames[10], middle)) < SAME
    assert mad(band(frames[40], bottom), band(parent_frames[40], bottom)) < SAME


def test_trims_change_the_frame_count(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    path = render(engine, edit_request("trim to 2s", parent), tmp_path / "a.mp4")
    assert len(decode_frames(path)) == 2 * FPS
    assert abs(audio_seconds(path) - 2.0) <= 1 / FPS

    path = render(engine, edit_request("cut the first 1 second", parent), tmp_path / "b.mp4")
    assert len(decode_frames(path)) == 2 * FPS


def test_cut_the_first_seconds_starts_later(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("trim from 1s to 2.5s", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == 36
    assert mad(frames[0], parent_frames[FPS]) < SAME
    assert mad(frames[-1], parent_frames[FPS + 35]) < SAME


def test_trim_that_keeps_under_a_second_is_refused(engine: LocalEngine, parent: Path) -> None:
    with pytest.raises(EngineError) as caught:
        engine.submit(edit_request("cut the first 2.5 seconds", parent))
    assert caught.value.kind is ErrorKind.INVALID_INPUT
    with pytest.raises(EngineError) as caught:
        parse_edit("trim to 0.5s")
    assert caught.value.kind is ErrorKind.INVALID_INPUT


def test_speed_up_halves_the_duration(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("speed it up", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES // 2
    assert abs(probe_video(path).duration_seconds - 1.5) < 1e-9
    assert abs(audio_seconds(path) - 1.5) <= 1 / FPS
    assert mad(frames[10], parent_frames[20]) < SAME


def test_slow_motion_plays_the_first_half_at_half_speed(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("slow motion", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS
    assert mad(frames[70], parent_frames[35]) < SAME
    assert mad(frames[70], parent_frames[70]) > DIFFERENT
    assert mad(frames[20], frames[21]) < SAME


def test_reverse_starts_with_the_parents_last_frame(
    engine: LocalEngine, tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    path = render(engine, edit_request("play it in reverse", parent), tmp_path / "a.mp4")
    frames = decode_frames(path)
    assert len(frames) == PARENT_FRAMES
    assert mad(frames[0], parent_frames[-1]) < SAME
    assert mad(frames[0], parent_frames[0]) > DIFFERENT
    assert mad(frames[-1], parent_frames[0]) < SAME
    assert abs(audio_seconds(path) - 3.0) <= 1 / FPS
    # The spill file for reversing is gone with the rest of the work dir.
    assert not any(Path(tempfile.gettempdir()).glob("omni-local-*/reverse.npy"))


def test_mute_removes_the_audio_stream(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    path = render(engine, edit_request("remove the audio", parent), tmp_path / "a.mp4")
    with av.open(str(path)) as container:
        assert len(container.streams.audio) == 0
        assert len(container.streams.video) == 1
    assert len(decode_frames(path)) == PARENT_FRAMES


def test_a_silent_parent_stays_silent(engine: LocalEngine, tmp_path: Path) -> None:
    silent = write_parent(tmp_path / "silent.mp4", audio=False)
    path = render(engine, edit_request("make it warmer", silent), tmp_path / "a.mp4")
    assert not probe_video(path).has_audio
    frames, originals = decode_frames(path), decode_frames(silent)
    red_gain = frames[5][..., 0].mean() - originals[5][..., 0].mean()
    blue_gain = frames[5][..., 2].mean() - originals[5][..., 2].mean()
    assert red_gain > 3 and blue_gain < -3


def test_combined_edit_and_its_note(engine: LocalEngine, tmp_path: Path, parent: Path) -> None:
    prompt = (
        'Make it square, then night. Add caption "Hello, and goodbye". '
        "Keep everything else the same."
    )
    submission = engine.submit(edit_request(prompt, parent))
    assert submission.route
    assert "reframed to 1:1" in submission.note and "night" in submission.note
    path = render(engine, edit_request(prompt, parent), tmp_path / "a.mp4")
    info = probe_video(path)
    assert (info.width, info.height) == (480, 480)
    assert info.frame_count == PARENT_FRAMES


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


def test_reframe_video_crops_a_finished_mp4(
    tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    square = tmp_path / "square.mp4"
    reframe_video(parent, square, "1:1")
    info = probe_video(square)
    assert (info.width, info.height) == (480, 480)
    assert info.frame_count == PARENT_FRAMES
    assert info.has_audio
    frames = decode_frames(square)
    # A centre crop: the middle of the parent, unscaled.
    left = (PARENT_SIZE[0] - 480) // 2
    assert mad(frames[30], parent_frames[30][:, left : left + 480]) < SAME

    same = tmp_path / "same.mp4"
    reframe_video(parent, same, "16:9")
    assert same.read_bytes() == parent.read_bytes()
    with pytest.raises(EngineError) as caught:
        reframe_video(tmp_path / "missing.mp4", tmp_path / "out.mp4", "9:16")
    assert caught.value.kind is ErrorKind.INVALID_INPUT


# --------------------------------------------------------------------------
# The edit parser


@pytest.mark.parametrize(
    ("prompt", "expected"),
    [
        ("make it black and white", [ColorGrade("grayscale")]),
        ("Make it portrait", [Reframe("9:16")]),
        ("landscape", [Reframe("16:9")]),
        ("crop to a square", [Reframe("1:1")]),
        ("reframe to 1:1", [Reframe("1:1")]),
        ("trim to 3s", [Trim(0.0, 3.0)]),
        ("trim to the first 3 seconds", [Trim(0.0, 3.0)]),
        ("keep only the first three seconds", [Trim(0.0, 3.0)]),
        ("cut the first 2 seconds", [Trim(2.0, None)]),
        ("cut the last 2 seconds", [Trim(0.0, -2.0)]),
        ("trim from 1s to 4s", [Trim(1.0, 4.0)]),
        ("slow it down", [ChangeSpeed(0.5)]),
        ("make it 2x faster", [ChangeSpeed(2.0)]),
        ("play it backwards", [Reverse()]),
        ("no sound", [Mute()]),
        ("make it night", [ColorGrade("night")]),
        ("give it a neon look", [ColorGrade("neon")]),
        ("make it darker in slow motion", [ColorGrade("darker"), ChangeSpeed(0.5)]),
        ("warmer and brighter", [ColorGrade("warmer"), ColorGrade("brighter")]),
    ],
)
def test_parse_edit_reads_each_operation(prompt: str, expected: list[object]) -> None:
    assert parse_edit(prompt) == expected


def test_parse_edit_keeps_quoted_text_whole() -> None:
    prompt = (
        'Add on-screen text "Hello, world and friends; ok. Bye" at the top from 1s to 2s, '
        "and make it black and white; keep everything else the same"
    )
    assert parse_edit(prompt) == [
        TextOverlay("Hello, world and friends; ok. Bye", "top", 1.0, 2.0),
        ColorGrade("grayscale"),
    ]
    assert parse_edit("[1-3s] add text 'Don't stop, ever' at the bottom") == [
        TextOverlay("Don't stop, ever", "bottom", 1.0, 3.0)
    ]
    assert parse_edit("add title \u201cRise, and shine\u201d [0:01-0:02.5]") == [
        TextOverlay("Rise, and shine", "center", 1.0, 2.5)
    ]
    assert parse_edit('add subtitles "Slow motion, reverse" between 1s and 2s') == [
        TextOverlay("Slow motion, reverse", "bottom", 1.0, 2.0, subtitle=True)
    ]


def test_parse_edit_ignores_preservation_clauses() -> None:
    prompt = (
        "Make it warmer. Preserve the subject, framing and lighting. "
        "Do not change the music. Exclude: blur, watermarks. Avoid flicker."
    )
    assert parse_edit(prompt) == [ColorGrade("warmer")]


def test_parse_edit_refuses_conflicts() -> None:
    for prompt in ["speed up and slow motion", "make it portrait, then square"]:
        with pytest.raises(EngineError):
            parse_edit(prompt)
    with pytest.raises(EngineError) as caught:
        parse_edit("make the colours muted")
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD


# --------------------------------------------------------------------------
# Progress, cancellation and files


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
        engine.check_instruction("Make it sing")
    assert caught.value.kind is ErrorKind.NOT_UNDERSTOOD
    with pytest.raises(EngineError) as caught:
        engine.check_instruction("trim to 0.5s")
    assert caught.value.kind is ErrorKind.INVALID_INPUT
