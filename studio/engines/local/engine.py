"""LocalEngine: what the studio calls.

The engine is stateless: ``submit`` validates and names the interaction after
a hash of the request, ``poll`` renders the whole video in one call, reporting
progress after every encoded frame. New videos are made at 12, 24 or 30 fps;
edits keep the parent's frame rate unless the request asks for another.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from studio.engines.base import (
    ASPECT_RATIOS,
    FPS,
    FRAME_RATES,
    Capabilities,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollResult,
    PollState,
    ProgressCallback,
    Submission,
    Task,
    VideoOutput,
    frame_size,
)
from studio.engines.local.continuation import CONTINUABLE_MOVES, render_continuation
from studio.engines.local.edits import parent_read, plan_edit, probe_parent, render_edit
from studio.engines.local.grammar import parse_instruction
from studio.engines.local.scenes import (
    StillScene,
    TitleCardScene,
    encode_scene,
    load_still,
    parse_camera_move,
    seed_of,
    title_subject,
)

MODEL = "local-1"
TEMP_PREFIX = "omni-local-"

MIN_DURATION = 3
MAX_DURATION = 10


def _file_sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _media_fingerprint(media: InputMedia) -> dict[str, str]:
    try:
        digest = _file_sha256(media.path)
    except OSError:
        digest = "unreadable"
    return {
        "key": media.key,
        "kind": media.kind,
        "path": str(media.path),
        "mime_type": media.mime_type,
        "sha256": digest,
    }


def interaction_id_for(request: GenerationRequest) -> str:
    """The interaction id: "local-" and the start of a hash of the request,
    including its files' contents, so the same request names the same id."""
    canonical = {
        "engine": "local",
        "model": MODEL,
        "requested_model": request.model,
        "task": str(request.task),
        "prompt": request.prompt,
        "aspect_ratio": request.aspect_ratio,
        "resolution": request.resolution,
        "duration_seconds": request.duration_seconds,
        # Only where they differ from a plain request, so earlier ids hold.
        **({"fps": request.fps} if request.fps != FPS else {}),
        **({"region": list(request.region)} if request.region else {}),
        **({"seed": request.seed} if request.seed is not None else {}),
        "images": [_media_fingerprint(media) for media in request.images],
        "videos": [_media_fingerprint(media) for media in request.videos],
        "parent_video": (
            _media_fingerprint(request.parent_video) if request.parent_video else None
        ),
        "previous_interaction_id": request.previous_interaction_id,
    }
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "local-" + hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Job:
    route: str
    note: str
    render: Callable[[Path, Path, ProgressCallback], None]  # (output, workdir, progress)


class LocalEngine:
    """Offline engine: title cards, camera moves on stills, and real edits."""

    name = "local"

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Local (offline)",
            tasks=frozenset({Task.TEXT_TO_VIDEO, Task.IMAGE_TO_VIDEO, Task.EDIT, Task.EXTEND}),
            aspect_ratios=ASPECT_RATIOS,
            resolutions=("480p", "720p", "1080p"),
            frame_rates=FRAME_RATES,
            edits_keep_any_frame_rate=True,
            edits_in_region=True,
            min_duration=MIN_DURATION,
            max_duration=MAX_DURATION,
            max_images=1,
            max_videos=0,
            max_prompt_chars=4000,
            reports_percent=True,
            # Rendering here costs nothing, so a crash mid-submission is
            # simply submitted again.
            paid=False,
        )

    def submit(self, request: GenerationRequest) -> Submission:
        job = self._prepare(request)
        # Free here, but announced like any engine's paid call.
        request.paid_call_starting()
        return Submission(
            interaction_id=interaction_id_for(request), model=MODEL, route=job.route, note=job.note
        )

    def poll(
        self,
        interaction_id: str,
        request: GenerationRequest,
        *,
        progress: ProgressCallback,
    ) -> PollResult:
        job = self._prepare(request)
        workdir = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
        output = workdir / "output.mp4"
        try:
            job.render(output, workdir, progress)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise
        return PollResult(state=PollState.COMPLETED, fraction=1.0, output=VideoOutput(path=output))

    def fetch_output(self, output: VideoOutput, destination: Path) -> None:
        if output.path is None:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine's output has no file.")
        destination = Path(destination)
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(output.path, destination)
        workdir = Path(output.path).parent
        if workdir.name.startswith(TEMP_PREFIX):
            shutil.rmtree(workdir, ignore_errors=True)

    def cancel(self, interaction_id: str) -> None:
        """Nothing runs between polls; a render stops when progress raises."""

    def check_instruction(self, prompt: str) -> None:
        """Refuse an edit instruction the grammar cannot read (see ``grammar``)."""
        parse_instruction(prompt)

    # ----------------------------------------------------------------------

    def _prepare(self, request: GenerationRequest) -> _Job:
        """Validate cheaply (no decoding) and describe how to render."""
        capabilities = self.capabilities()
        if request.task not in capabilities.tasks:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"The local engine cannot do {request.task}."
            )
        if len(request.prompt) > capabilities.max_prompt_chars:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"The prompt is longer than {capabilities.max_prompt_chars} characters.",
            )
        if request.task is Task.EDIT:
            return self._prepare_edit(request)
        if request.task is Task.EXTEND:
            return self._prepare_extension(request)
        if request.videos:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine takes no input videos.")

        if request.aspect_ratio not in capabilities.aspect_ratios:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Unsupported aspect ratio {request.aspect_ratio!r}."
            )
        if request.resolution not in capabilities.resolutions:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Unsupported resolution {request.resolution!r}."
            )
        self._check_duration(request)
        self._check_frame_rate(request)
        width, height = frame_size(request.aspect_ratio, request.resolution)
        frame_count = request.duration_seconds * request.fps

        if request.task is Task.TEXT_TO_VIDEO:
            if not request.prompt.strip():
                raise EngineError(ErrorKind.INVALID_INPUT, "The prompt is empty.")

            def render_title(output: Path, workdir: Path, progress: ProgressCallback) -> None:
                scene = TitleCardScene(
                    request.prompt,
                    width,
                    height,
                    frame_count,
                    variation=request.seed,
                    fps=request.fps,
                )
                encode_scene(scene, output, progress)

            return _Job(
                route="rendered locally",
                note=f'Offline title card: "{title_subject(request.prompt)}".',
                render=render_title,
            )

        media = self._one_image(request, "Image to video needs an image.")
        move = parse_camera_move(request.prompt, request.seed)

        def render_still(output: Path, workdir: Path, progress: ProgressCallback) -> None:
            still = load_still(media)
            seed = seed_of(request.prompt, request.seed)
            scene = StillScene(still, move, width, height, frame_count, seed, fps=request.fps)
            encode_scene(scene, output, progress)

        return _Job(
            route="rendered locally", note=f"Camera move: {move.value}.", render=render_still
        )

    def _check_duration(self, request: GenerationRequest) -> None:
        if request.duration_seconds not in self.capabilities().durations:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"Duration must be {MIN_DURATION} to {MAX_DURATION} seconds.",
            )

    def _check_frame_rate(self, request: GenerationRequest) -> None:
        if request.fps not in FRAME_RATES:
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"The local engine makes {', '.join(map(str, FRAME_RATES))} fps video, "
                f"not {request.fps} fps.",
            )

    def _one_image(self, request: GenerationRequest, missing: str) -> InputMedia:
        """The request's one image, its header read (nothing decoded)."""
        if not request.images:
            raise EngineError(ErrorKind.INVALID_INPUT, missing)
        if len(request.images) > self.capabilities().max_images:
            raise EngineError(ErrorKind.INVALID_INPUT, "The local engine animates one image.")
        media = request.images[0]
        try:
            with Image.open(media.path):
                pass  # opening reads and checks the header, without decoding
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"Could not read the image {media.path.name}: {error}"
            ) from error
        return media

    def _prepare_extension(self, request: GenerationRequest) -> _Job:
        """The parent's shot carried on from its last frame (``continuation``)."""
        self._check_duration(request)
        self._check_frame_rate(request)
        media = self._one_image(request, "An extension needs the parent's last frame.")
        parent = request.parent_video
        if parent is None or not Path(parent.path).is_file():
            raise EngineError(ErrorKind.INVALID_INPUT, "An extension needs the parent video.")
        has_audio = probe_parent(parent.path).has_audio
        move = parse_camera_move(request.prompt, request.seed, latest=True)

        def render(output: Path, workdir: Path, progress: ProgressCallback) -> None:
            with parent_read():
                render_continuation(
                    load_still(media),
                    parent.path,
                    output,
                    move=move,
                    seconds=request.duration_seconds,
                    fps=request.fps,
                    has_audio=has_audio,
                    progress=progress,
                )

        held = "" if move in CONTINUABLE_MOVES else " (held: a pull out needs picture outside it)"
        return _Job(
            route="continued from the last frame locally",
            note=f"Continued from the last frame: {move.value}{held}.",
            render=render,
        )

    def _prepare_edit(self, request: GenerationRequest) -> _Job:
        parent = request.parent_video
        if parent is None:
            raise EngineError(ErrorKind.INVALID_INPUT, "An edit needs the parent video.")
        operations = parse_instruction(request.prompt)
        if not Path(parent.path).is_file():
            raise EngineError(
                ErrorKind.INVALID_INPUT, f"The parent video {parent.path.name} is missing."
            )
        source = probe_parent(parent.path)
        if request.fps not in FRAME_RATES and request.fps != round(source.fps):
            raise EngineError(
                ErrorKind.INVALID_INPUT,
                f"An edit keeps its parent's {float(source.fps):g} fps or is made at "
                f"{', '.join(map(str, FRAME_RATES))} fps, not {request.fps}.",
            )
        plan = plan_edit(operations, source, fps=request.fps, region=request.region)

        def render(output: Path, workdir: Path, progress: ProgressCallback) -> None:
            render_edit(plan, parent.path, output, workdir, progress)

        return _Job(route="edited parent file locally", note=plan.describe(), render=render)
