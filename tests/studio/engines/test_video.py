"""The video module: probing, the writer, transcoding, posters, reframing.
Every file written here is decoded again with PyAV."""

from __future__ import annotations

import io
import itertools
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from studio.engines.base import FPS
from studio.engines.video import (
    AUDIO_BITRATE,
    SAMPLE_RATE,
    VIDEO_CRF,
    Mp4Writer,
    VideoError,
    clip_section,
    cover_box,
    decode_audio,
    poster_jpeg,
    probe_video,
    reframe,
    splice_section,
    transcode_to_mp4,
)
from studio.engines.video.joins import crossfaded, last_frame_image, stitch_continuation
from tests.studio.engines.clips import (
    DIFFERENT,
    PARENT_FRAMES,
    PARENT_SIZE,
    SAME,
    audio_seconds,
    decode_frames,
    mad,
    write_clip,
)


def grey_ramp(size: tuple[int, int], frames: int) -> list[Image.Image]:
    """Frames from black to white."""
    levels = (round(index * 255 / (frames - 1)) for index in range(frames))
    return [Image.new("RGB", size, (level, level, level)) for level in levels]


def test_probe_reads_the_streams_and_divides_frames_by_the_rate(parent: Path) -> None:
    info = probe_video(parent)
    assert (info.width, info.height) == PARENT_SIZE
    assert (info.frame_count, info.fps) == (PARENT_FRAMES, FPS)
    assert info.duration_seconds == PARENT_FRAMES / FPS
    assert (info.video_codec, info.has_audio, info.audio_codec) == ("h264", True, "aac")


def test_without_a_frame_count_the_duration_is_the_containers(tmp_path: Path) -> None:
    # Matroska headers carry no frame count: the duration comes first.
    clip = write_clip(tmp_path / "clip.webm", grey_ramp((64, 48), 50), codec="libvpx", rate=25)
    with av.open(str(clip)) as container:
        assert container.streams.video[0].frames == 0
    info = probe_video(clip)
    assert info.fps == 25
    assert abs(info.duration_seconds - 2.0) <= 1 / 25
    assert info.frame_count == round(info.duration_seconds * 25)
    assert not info.has_audio and info.audio_codec == ""


def test_probe_refuses_what_is_not_a_video(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"\x00" * 1000)
    with pytest.raises(VideoError, match=r"^The file is not a video we can read\.$"):
        probe_video(garbage)
    with pytest.raises(VideoError, match="not a video we can read"):
        probe_video(tmp_path / "missing.mp4")
    sound_only = tmp_path / "sound.m4a"
    with av.open(str(sound_only), "w") as container:
        stream = container.add_stream("aac", rate=48_000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), "fltp", "mono")
        frame.sample_rate = 48_000
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    with pytest.raises(VideoError, match=r"^The file has no video stream\.$"):
        probe_video(sound_only)


def test_the_writer_uses_the_one_encoder_setting(tmp_path: Path) -> None:
    path = tmp_path / "written.mp4"
    noise = np.random.default_rng(0).uniform(-0.5, 0.5, (2, 3 * SAMPLE_RATE)).astype(np.float32)
    with Mp4Writer(path, 64, 48, fps=Fraction(30)) as writer:
        for index in range(90):
            # The same picture throughout, so no scene cut adds a keyframe.
            writer.write_video(Image.new("RGB", (64, 48), (200, 40, 40)))
            writer.write_audio(noise[:, index * 1600 : (index + 1) * 1600])
    data = path.read_bytes()
    # x264 writes its settings into the stream: CRF and a keyframe every 2 s.
    assert f"crf={VIDEO_CRF:.1f}".encode() in data
    assert b"keyint=60 " in data
    assert data.index(b"moov") < data.index(b"mdat")  # +faststart
    with av.open(str(path)) as container:
        video, audio = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.codec_context.format.name) == ("h264", "yuv420p")
        assert video.average_rate == 30
        assert (audio.codec_context.name, audio.sample_rate) == ("aac", SAMPLE_RATE)
        assert audio.codec_context.layout.nb_channels == 2
        # Noise needs every bit the encoder may spend.
        assert abs(audio.codec_context.bit_rate - AUDIO_BITRATE) < AUDIO_BITRATE * 0.1
        keyframes = [
            float(packet.pts * video.time_base)
            for packet in container.demux(video)
            if packet.is_keyframe
        ]
    assert keyframes == [0.0, 2.0]


def test_transcode_normalises_size_codec_rate_and_sound(tmp_path: Path) -> None:
    source = write_clip(
        tmp_path / "other.mov",
        grey_ramp((102, 78), 50),
        codec="mpeg4",
        rate=25,
        sample_rate=44_100,
        layout="mono",
    )
    fractions: list[float] = []
    info = transcode_to_mp4(source, tmp_path / "out.mp4", progress=fractions.append)
    assert (info.width, info.height, info.video_codec) == (102, 78, "h264")
    assert (info.fps, info.frame_count) == (25, 50)
    assert (info.has_audio, info.audio_codec) == (True, "aac")
    with av.open(str(tmp_path / "out.mp4")) as container:
        audio = container.streams.audio[0]
        assert (audio.sample_rate, audio.codec_context.layout.nb_channels) == (48_000, 2)
    assert abs(audio_seconds(tmp_path / "out.mp4") - 2.0) < 0.1
    assert len(fractions) == 50
    assert all(later >= earlier for earlier, later in itertools.pairwise(fractions))
    assert fractions[-1] == 0.99  # 1.0 is for the caller, once the file is stored
    frames, originals = decode_frames(tmp_path / "out.mp4"), decode_frames(source)
    assert mad(frames[25], originals[25]) < SAME


def test_transcode_makes_odd_dimensions_even(tmp_path: Path) -> None:
    ramp = grey_ramp((101, 75), 24)
    source = write_clip(tmp_path / "odd.avi", ramp, codec="mjpeg", rate=24, pixel_format="yuvj420p")
    info = transcode_to_mp4(source, tmp_path / "out.mp4")
    assert (info.width, info.height) == (100, 74)
    assert not info.has_audio
    garbage = tmp_path / "garbage.mov"
    garbage.write_bytes(b"\x00" * 500)
    with pytest.raises(VideoError, match="not a video we can read"):
        transcode_to_mp4(garbage, tmp_path / "never.mp4")


def test_the_poster_is_a_jpeg_from_a_little_way_in(
    parent: Path, parent_frames: list[np.ndarray], tmp_path: Path
) -> None:
    poster = Image.open(io.BytesIO(poster_jpeg(parent)))
    assert (poster.format, poster.size) == ("JPEG", PARENT_SIZE)
    pixels = np.asarray(poster.convert("RGB")).astype(np.int16)
    # Its only keyframe is the first: the frame at 30 %, reached skipping
    # the frames nothing refers to.
    assert mad(pixels, parent_frames[int(PARENT_FRAMES * 0.3)]) < SAME * 2
    assert mad(pixels, parent_frames[0]) > DIFFERENT
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 100)
    with pytest.raises(VideoError):
        poster_jpeg(broken)


def test_the_poster_is_the_first_keyframe_from_a_little_way_in(
    parent_frames: list[np.ndarray], tmp_path: Path
) -> None:
    # A keyframe every second: 30 % of 3 s is 0.9 s, so the one at 1 s,
    # which decodes without the frames before it.
    clip = write_clip(
        tmp_path / "keyed.mp4",
        (Image.fromarray(frame.astype(np.uint8)) for frame in parent_frames),
        codec="libx264",
        rate=FPS,
        options={"crf": "18", "g": str(FPS), "keyint_min": str(FPS)},
    )
    pixels = np.asarray(Image.open(io.BytesIO(poster_jpeg(clip))).convert("RGB"))
    pixels = pixels.astype(np.int16)
    assert mad(pixels, parent_frames[FPS]) < SAME * 2
    assert mad(pixels, parent_frames[int(PARENT_FRAMES * 0.3)]) > mad(pixels, parent_frames[FPS])


def test_cover_box_is_the_centred_box_of_the_target_shape() -> None:
    assert cover_box((1920, 1080), (1, 1)) == (420.0, 0.0, 1500.0, 1080.0)
    assert cover_box((1080, 1920), (16, 9)) == (0.0, 656.25, 1080.0, 1263.75)
    assert cover_box((1280, 720), (16, 9)) == (0.0, 0.0, 1280.0, 720.0)


def test_reframe_crops_a_finished_mp4(
    tmp_path: Path, parent: Path, parent_frames: list[np.ndarray]
) -> None:
    square = tmp_path / "square.mp4"
    reframe(parent, square, "1:1")
    info = probe_video(square)
    assert (info.width, info.height) == (480, 480)
    assert info.frame_count == PARENT_FRAMES
    assert info.has_audio
    frames = decode_frames(square)
    # A centre crop: the middle of the parent, unscaled.
    left = (PARENT_SIZE[0] - 480) // 2
    assert mad(frames[30], parent_frames[30][:, left : left + 480]) < SAME

    same = tmp_path / "same.mp4"
    reframe(parent, same, "16:9")
    assert same.read_bytes() == parent.read_bytes()
    with pytest.raises(VideoError):
        reframe(tmp_path / "missing.mp4", tmp_path / "out.mp4", "9:16")


def test_reframe_reports_progress_keeps_the_sound_and_knows_its_ratios(
    tmp_path: Path, parent: Path
) -> None:
    fractions: list[float] = []
    reframe(parent, tmp_path / "portrait.mp4", "9:16", progress=fractions.append)
    assert len(fractions) == PARENT_FRAMES and fractions[-1] == 1.0
    assert (probe_video(tmp_path / "portrait.mp4").width, 480) == (480, 480)
    assert abs(audio_seconds(tmp_path / "portrait.mp4") - 3.0) <= 1 / FPS
    with pytest.raises(VideoError, match="Unknown aspect ratio '4:3'"):
        reframe(parent, tmp_path / "four-three.mp4", "4:3")
    assert not (tmp_path / "four-three.mp4").exists()


def test_a_section_is_cut_on_frames_and_scaled_up_to_the_short_side(tmp_path: Path) -> None:
    # 3 s at 25 fps, 160×90, frame n has grey level ~n: the section shows which frames.
    source = write_clip(
        tmp_path / "long.mp4",
        grey_ramp((160, 90), 75),
        codec="libx264",
        rate=25,
        sample_rate=48_000,
    )
    info = clip_section(source, tmp_path / "part.mp4", start=1.0, seconds=1.2, min_short_side=180)
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 180, 25, 30)
    assert info.has_audio and abs(audio_seconds(tmp_path / "part.mp4") - 1.2) < 0.1
    part, whole = decode_frames(tmp_path / "part.mp4"), decode_frames(source)
    small = np.asarray(Image.fromarray(part[0].astype(np.uint8)).resize((160, 90)))
    assert mad(small, whole[25]) < SAME
    assert mad(small, whole[0]) > DIFFERENT
    # Never scaled down; to the end when no length is given.
    rest = clip_section(source, tmp_path / "rest.mp4", start=2.0, min_short_side=60)
    assert (rest.width, rest.height, rest.frame_count) == (160, 90, 25)


def test_a_spliced_section_replaces_only_its_span(tmp_path: Path) -> None:
    source = write_clip(
        tmp_path / "long.mp4",
        grey_ramp((160, 90), 75),
        codec="libx264",
        rate=25,
        sample_rate=48_000,
    )
    # The edit: 1 s of flat red at twice the size and another frame rate.
    red = [Image.new("RGB", (320, 180), (220, 30, 30))] * 24
    edited = write_clip(tmp_path / "edited.mp4", red, codec="libx264", rate=24)
    info = splice_section(source, edited, tmp_path / "spliced.mp4", start=1.0)
    assert (info.width, info.height, info.fps, info.frame_count) == (320, 180, 25, 75)
    assert abs(audio_seconds(tmp_path / "spliced.mp4") - 3.0) < 0.1
    frames = [
        np.asarray(Image.fromarray(f.astype(np.uint8)).resize((160, 90)))
        for f in decode_frames(tmp_path / "spliced.mp4")
    ]
    whole = decode_frames(source)
    redness = [float(f[..., 0].mean() - f[..., 1].mean()) for f in frames]
    assert all(r > 100 for r in redness[26:49])  # the edited second
    assert all(r < 20 for r in redness[:24] + redness[51:])  # the rest, as it was
    assert mad(frames[10], whole[10]) < SAME and mad(frames[60], whole[60]) < SAME


def test_a_continuation_is_stitched_on_at_the_originals_size_and_rate(
    parent: Path, parent_frames: list[np.ndarray], tmp_path: Path
) -> None:
    # What another engine might send back: 2 s of flat green at another
    # size and frame rate, with its own tone.
    green = [Image.new("RGB", (640, 360), (30, 200, 60))] * 60
    continuation = write_clip(
        tmp_path / "more.mp4", green, codec="libx264", rate=30, sample_rate=48_000
    )
    info = stitch_continuation(parent, continuation, tmp_path / "whole.mp4")

    assert (info.width, info.height) == PARENT_SIZE
    assert (info.fps, info.frame_count) == (FPS, PARENT_FRAMES + 2 * FPS)
    assert (info.video_codec, info.audio_codec) == ("h264", "aac")
    frames = decode_frames(tmp_path / "whole.mp4")
    assert mad(frames[PARENT_FRAMES - 1], parent_frames[-1]) < SAME
    assert all(float(f[..., 1].mean() - f[..., 0].mean()) > 100 for f in frames[PARENT_FRAMES:])
    assert abs(audio_seconds(tmp_path / "whole.mp4") - 5.0) < 0.05
    # Both tones are steady (RMS 0.14), so no 10 ms around the joint falls
    # silent; two pure tones of one pitch partly cancel as they crossfade.
    samples = decode_audio(tmp_path / "whole.mp4")
    joint = 3 * SAMPLE_RATE
    width = SAMPLE_RATE // 100
    levels = [
        float(np.sqrt(np.mean(samples[:, at : at + width] ** 2)))
        for at in range(joint - 10 * width, joint + 10 * width, width)
    ]
    assert min(levels) > 0.03


def test_crossfaded_keeps_both_lengths_and_meets_the_second_at_the_joint() -> None:
    first = np.full((2, 1000), 0.5, dtype=np.float32)
    second = np.linspace(0.2, 0.9, 500, dtype=np.float32)[None, :].repeat(2, axis=0)
    joined = crossfaded(first, second, 100)

    assert joined.shape == (2, 1500)
    assert np.array_equal(joined[:, :900], first[:, :900])
    assert np.array_equal(joined[:, 1000:], second)
    assert joined[0, 999] == pytest.approx(second[0, 0])
    assert joined[0, 900] == pytest.approx(0.5)
    # No dip: one fades in as the other fades out.
    assert joined[:, 900:1000].min() >= second[0, 0] - 1e-6
    assert crossfaded(first, second[:, :0], 100).shape == (2, 1000)


def test_the_last_frame_is_the_picture_a_video_ends_on(
    parent: Path, parent_frames: list[np.ndarray]
) -> None:
    last = np.asarray(last_frame_image(parent)).astype(np.int16)
    assert mad(last, parent_frames[-1]) < 1
    assert mad(last, parent_frames[-10]) > DIFFERENT
