"""How much of the local engine's render time is the encoder's.

Run with ``uv run python bench/engine_render.py``. For a 5 s 720p 16:9 clip it
times, best of three:

- render: LocalEngine end to end (submit, poll, fetch_output), once as a
  title card (text to video) and once as a camera move over a generated
  1920x1080 still (image to video);
- encode only: the same frames and audio, rendered beforehand and held in
  memory, written with the same writer and encoder settings.

The ratio is render / encode only: how much drawing costs on top of encoding.
Needs no Django settings.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from studio.engines.base import FPS, GenerationRequest, InputMedia, Task
from studio.engines.local.engine import LocalEngine
from studio.engines.local.scenes import Scene, StillScene, TitleCardScene, parse_camera_move
from studio.engines.video import SAMPLE_RATE, Mp4Writer

ASPECT_RATIO = "16:9"
RESOLUTION = "720p"
DURATION = 5
REPEATS = 3
PROMPT = "A neon city at night, rain on the streets. Slow push in."


def best_of(repeats: int, run: Callable[[], None]) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def make_still(path: Path) -> Path:
    ramp = np.linspace(0, 255, 1920, dtype=np.float64)
    pixels = np.empty((1080, 1920, 3), dtype=np.uint8)
    pixels[..., 0] = ramp[None, :].astype(np.uint8)
    pixels[..., 1] = np.linspace(40, 200, 1080, dtype=np.float64)[:, None].astype(np.uint8)
    pixels[..., 2] = 140
    image = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(image)
    for index in range(12):
        left = 80 + index * 150
        draw.ellipse((left, 300 + index * 30, left + 120, 420 + index * 30), fill=(255, 240, 0))
    draw.rectangle((860, 440, 1060, 640), fill=(255, 0, 0))
    image.save(path)
    return path


def render_end_to_end(engine: LocalEngine, request: GenerationRequest, workdir: Path) -> None:
    submission = engine.submit(request)
    result = engine.poll(submission.interaction_id, request, progress=lambda fraction: None)
    assert result.output is not None
    destination = workdir / "rendered.mp4"
    engine.fetch_output(result.output, destination)
    destination.unlink()


def encode_only(
    frames: list[Image.Image], audio: list[np.ndarray], size: tuple[int, int], workdir: Path
) -> None:
    path = workdir / "encoded.mp4"
    with Mp4Writer(path, *size, fps=Fraction(FPS)) as writer:
        for frame, samples in zip(frames, audio, strict=True):
            writer.write_video(frame)
            writer.write_audio(samples)
    path.unlink()


def prerender(scene: Scene) -> tuple[list[Image.Image], list[np.ndarray]]:
    samples_per_frame = SAMPLE_RATE // FPS
    frames = [scene.frame(index) for index in range(scene.frame_count)]
    audio = [
        scene.audio(index * samples_per_frame, samples_per_frame)
        for index in range(scene.frame_count)
    ]
    return frames, audio


def main() -> None:
    engine = LocalEngine()
    workdir = Path(tempfile.mkdtemp(prefix="bench-engine-"))
    try:
        still_path = make_still(workdir / "still.png")
        text_request = GenerationRequest(
            Task.TEXT_TO_VIDEO, PROMPT, ASPECT_RATIO, RESOLUTION, DURATION
        )
        image_request = GenerationRequest(
            Task.IMAGE_TO_VIDEO,
            PROMPT,
            ASPECT_RATIO,
            RESOLUTION,
            DURATION,
            images=(InputMedia("still", "image", still_path, "image/png"),),
        )
        frame_count = DURATION * FPS
        width, height = 1280, 720

        title_scene = TitleCardScene(PROMPT, width, height, frame_count)
        with Image.open(still_path) as opened:
            still = opened.convert("RGB")
        still_scene = StillScene(
            still, parse_camera_move(PROMPT), width, height, frame_count, seed=0
        )

        rows = []
        for label, request, scene in [
            ("text to video (title card)", text_request, title_scene),
            ("image to video (1920x1080 still)", image_request, still_scene),
        ]:
            rendered = best_of(REPEATS, lambda r=request: render_end_to_end(engine, r, workdir))
            frames, audio = prerender(scene)
            encoded = best_of(
                REPEATS, lambda f=frames, a=audio: encode_only(f, a, (width, height), workdir)
            )
            del frames, audio
            rows.append((label, rendered, encoded))

        print(
            f"LocalEngine, {DURATION} s {RESOLUTION} {ASPECT_RATIO} ({frame_count} frames), "
            f"best of {REPEATS}"
        )
        print(f"{'clip':34} {'render s':>9} {'encode s':>9} {'ratio':>6} {'render fps':>10}")
        for label, rendered, encoded in rows:
            print(
                f"{label:34} {rendered:9.2f} {encoded:9.2f} {rendered / encoded:6.2f} "
                f"{frame_count / rendered:10.1f}"
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
