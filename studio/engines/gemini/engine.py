"""GeminiEngine: the Engine protocol over the Interactions API (the wire format
is in the package docstring).

Money is spent by exactly one call, the create. The SDK would retry it (the
interactions client defaults to 5 attempts, 5xx and 429 included, and there is
no idempotency key), so the client is built with ``attempts=1`` and this
module does its own retries, only where they are safe: polls, file look-ups,
downloads and cancels.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import logging
import os
import random
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from google import genai
from google.genai import types as genai_types

from studio.engines.base import (
    ASPECT_RATIOS,
    FRAME_RATES,
    Capabilities,
    EngineError,
    ErrorKind,
    GenerationRequest,
    InputMedia,
    PollResult,
    PollState,
    ProgressCallback,
    RemoteFile,
    Submission,
    SubmissionUncertain,
    Task,
    Usage,
    VideoOutput,
)
from studio.engines.gemini.downloads import download
from studio.engines.gemini.failures import (
    PreviousInteractionGone,
    error_from_failure,
    failure_of,
    names_previous_interaction,
    terminal_error,
    translate,
)
from studio.engines.gemini.transport import (
    describe,
    http_client,
    is_transport_error,
    never_sent,
    reuse_sdk_models,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

# The Omni Flash family as google-genai 3.4.0 lists it (types.interactions.Model).
DEFAULT_MODEL = "gemini-omni-1.2-flash"
PREVIEW_MODEL = "gemini-omni-flash-preview"
KNOWN_MODELS = ("gemini-omni-1.2-flash", "gemini-omni-1.1-flash", PREVIEW_MODEL)
DEFAULT_TIMEOUT_SECONDS = 60.0

MIN_DURATION = 3
MAX_DURATION = 10
MAX_IMAGES = 10
MAX_VIDEOS = 3
MAX_PROMPT_CHARS = 4000
MODEL_ASPECT_RATIOS = ("16:9", "9:16")
RESOLUTIONS = ("720p", "1080p")
REFRAMED_TO = "16:9"  # What we ask the model for when it has no such ratio.

# Files API uploads live 48 hours; reuse one only while it has this much left,
# so it cannot expire while the model is still reading it.
FILE_REUSE_MARGIN = timedelta(hours=1)

ROUTE_NEW = "new interaction"
ROUTE_CONTINUED = "continued interaction"
ROUTE_UPLOADED_PARENT = "uploaded parent video"
ROUTE_LAST_FRAME = "image to video from the last frame"


class GeminiEngine:
    """Gemini Omni Flash over the Interactions API (see the package docstring)."""

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str,
        model: str = "",
        base_url: str = "",
        timeout: float | None = None,
        poll_retries: int = 4,
        retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        file_wait_seconds: float = 300.0,
        max_retry_wait: float = 60.0,
    ) -> None:
        if not api_key:
            raise ValueError("GeminiEngine needs an API key (set GEMINI_API_KEY).")
        self.api_key = api_key
        self.model = model or DEFAULT_MODEL
        self.base_url = (base_url or "").rstrip("/")
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS
        # A poll's transient failure is retried here poll_retries times; the
        # studio sets 0, so the wait happens in the queue (run_after) and the
        # worker serves other versions meanwhile. Other free calls (uploads,
        # downloads, cancels) retry ``retries`` times.
        self.poll_retries = max(0, poll_retries)
        self.retries = max(0, retries)
        self.file_wait_seconds = file_wait_seconds
        self.max_retry_wait = max_retry_wait
        self._sleep = sleep
        self._random = random.Random()
        http_options = genai_types.HttpOptions(
            base_url=self.base_url or None,
            timeout=max(1, round(self.timeout * 1000)),
            # One attempt, no SDK retries: the create is paid and has no
            # idempotency key. Safe calls are retried here instead.
            retry_options=genai_types.HttpRetryOptions(attempts=1),
        )
        self._client = genai.Client(api_key=api_key, http_options=http_options)
        reuse_sdk_models()

    # -- capabilities ---------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Gemini Omni Flash",
            tasks=frozenset(Task),
            aspect_ratios=ASPECT_RATIOS,
            resolutions=RESOLUTIONS,
            frame_rates=FRAME_RATES,
            min_duration=MIN_DURATION,
            max_duration=MAX_DURATION,
            max_images=MAX_IMAGES,
            max_videos=MAX_VIDEOS,
            max_prompt_chars=MAX_PROMPT_CHARS,
            reports_percent=False,
            polls_with_files=False,
            reframed_aspect_ratios=frozenset(
                a for a in ASPECT_RATIOS if a not in MODEL_ASPECT_RATIOS
            ),
        )

    # -- submit ---------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> Submission:
        model = self._validate(request)
        note = ""
        aspect_ratio = request.aspect_ratio
        if aspect_ratio not in MODEL_ASPECT_RATIOS:
            note = (
                f"Gemini Omni Flash does not make {aspect_ratio} video: it was generated "
                f"at {REFRAMED_TO} and the studio reframes it to {aspect_ratio}."
            )
            aspect_ratio = REFRAMED_TO

        uploads: list[RemoteFile] = []
        media = self._media_blocks(request, uploads)
        text = {"type": "text", "text": request.prompt}
        body: dict[str, Any] = {
            "model": model,
            "background": True,
            "store": True,
            "response_format": {
                "type": "video",
                "aspect_ratio": aspect_ratio,
                "resolution": request.resolution,
                "duration": f"{request.duration_seconds}s",
                "fps": request.fps,
                "delivery": "uri",
            },
            "generation_config": _generation_config(request, request.task),
        }

        previous = request.previous_interaction_id
        if request.task is Task.EXTEND:
            # Continuing the parent's interaction would re-make its whole
            # clip; an extension is new video from its last frame.
            interaction = self._create({**body, "input": [*media, text]}, "", request)
            route = ROUTE_LAST_FRAME
        elif self._continuable(previous):
            try:
                interaction = self._create({**body, "input": [*media, text]}, previous, request)
                route = ROUTE_CONTINUED
            except PreviousInteractionGone as gone:
                if request.parent_video is None:
                    raise EngineError(
                        ErrorKind.INPUT_EXPIRED,
                        "The version being edited is no longer stored at Gemini and its "
                        f"video is not available to upload instead ({gone.failure.message}).",
                    ) from gone
                logger.info("Previous interaction %s is gone; uploading the parent video", previous)
                interaction, route = self._create_from_parent(request, body, media, text, uploads)
        elif request.parent_video is not None and (previous or request.task is Task.EDIT):
            interaction, route = self._create_from_parent(request, body, media, text, uploads)
        else:
            interaction = self._create({**body, "input": [*media, text]}, "", request)
            route = ROUTE_NEW

        interaction_id = interaction.id or ""
        if not interaction_id:
            raise SubmissionUncertain(
                "Gemini accepted the request but its answer named no interaction id."
            )
        # Even if it already failed, the id is recorded and poll() reports why.
        output = self._output_of(interaction)
        return Submission(
            interaction_id=interaction_id,
            model=str(interaction.model or model),
            output=output,
            uploads=tuple(uploads),
            route=route,
            note=note,
        )

    def _validate(self, request: GenerationRequest) -> str:
        """Refuse, before paying, what the model is known not to accept."""

        def invalid(message: str) -> EngineError:
            return EngineError(ErrorKind.INVALID_INPUT, message)

        model = request.model or self.model
        if not model.startswith("gemini-omni"):
            raise invalid(f"{model!r} is not a Gemini Omni model.")
        if not request.prompt.strip():
            raise invalid("The prompt is empty.")
        if len(request.prompt) > MAX_PROMPT_CHARS:
            raise invalid(f"The prompt is longer than {MAX_PROMPT_CHARS} characters.")
        if not MIN_DURATION <= request.duration_seconds <= MAX_DURATION:
            raise invalid(
                f"Gemini Omni Flash makes videos of {MIN_DURATION} to {MAX_DURATION} seconds, "
                f"not {request.duration_seconds}."
            )
        if len(request.images) > MAX_IMAGES:
            raise invalid(f"At most {MAX_IMAGES} images per prompt, not {len(request.images)}.")
        if len(request.videos) > MAX_VIDEOS:
            raise invalid(f"At most {MAX_VIDEOS} videos per prompt, not {len(request.videos)}.")
        if request.aspect_ratio not in ASPECT_RATIOS:
            raise invalid(f"Unsupported aspect ratio {request.aspect_ratio!r}.")
        if request.resolution not in RESOLUTIONS:
            raise invalid(
                f"Gemini Omni Flash makes {' or '.join(RESOLUTIONS)} video, "
                f"not {request.resolution}."
            )
        if request.fps not in FRAME_RATES:
            raise invalid(
                f"Gemini Omni Flash makes {', '.join(map(str, FRAME_RATES))} fps video, "
                f"not {request.fps} fps."
            )
        if request.task is Task.IMAGE_TO_VIDEO and not request.images:
            raise invalid("Image to video needs an image.")
        if request.task is Task.EXTEND and len(request.images) != 1:
            raise invalid("An extension is made from one image: the parent's last frame.")
        if request.task is Task.REFERENCE_TO_VIDEO and not (request.images or request.videos):
            raise invalid("Reference to video needs at least one reference image or video.")
        if (
            request.task is Task.EDIT
            and not self._continuable(request.previous_interaction_id)
            and request.parent_video is None
            and not request.videos
        ):
            raise invalid("There is no video to edit.")
        for image in request.images:
            if not image.path.is_file():
                raise invalid(f"The file for {image.key} is missing.")
        for video in request.videos:
            if not video.path.is_file() and not self._reusable(video):
                raise invalid(f"The file for {video.key} is missing.")
        # The parent's video is checked only if it has to be uploaded.
        return model

    @staticmethod
    def _continuable(previous_interaction_id: str) -> bool:
        """Whether an interaction id is one Gemini may still hold: ids from the
        local engine ("local-...") never reached it."""
        return bool(previous_interaction_id) and not previous_interaction_id.startswith("local-")

    def _media_blocks(self, request: GenerationRequest, uploads: list[RemoteFile]) -> list[dict]:
        blocks: list[dict] = []
        for video in request.videos:
            blocks.append(self._video_block(video, uploads, request.keep_alive))
        for image in request.images:
            data = base64.b64encode(image.path.read_bytes()).decode("ascii")
            blocks.append({"type": "image", "data": data, "mime_type": image.mime_type})
        return blocks

    def _video_block(
        self, video: InputMedia, uploads: list[RemoteFile], keep_alive: Callable[[], None]
    ) -> dict:
        if self._reusable(video):
            uri = video.remote_uri
        else:
            remote = self._upload(video, keep_alive)
            uploads.append(remote)
            uri = remote.uri
        return {"type": "video", "uri": uri, "mime_type": video.mime_type}

    @staticmethod
    def _reusable(media: InputMedia) -> bool:
        if not media.remote_uri or media.remote_expires_at is None:
            return False
        expires = media.remote_expires_at
        if expires.tzinfo is None:
            expires = expires.replace(tzinfo=UTC)
        return expires - FILE_REUSE_MARGIN > datetime.now(UTC)

    def _create_from_parent(
        self,
        request: GenerationRequest,
        body: dict[str, Any],
        media: list[dict],
        text: dict,
        uploads: list[RemoteFile],
    ) -> tuple[Any, str]:
        assert request.parent_video is not None
        parent = self._video_block(request.parent_video, uploads, request.keep_alive)
        body = {**body, "generation_config": _generation_config(request, Task.EDIT)}
        created = self._create({**body, "input": [parent, *media, text]}, "", request)
        return created, ROUTE_UPLOADED_PARENT

    def _create(
        self, body: dict[str, Any], previous_interaction_id: str, request: GenerationRequest
    ) -> Any:
        """The paid call: exactly one POST, never retried, announced first."""
        if previous_interaction_id:
            body = {**body, "previous_interaction_id": previous_interaction_id}
        request.paid_call_starting()
        try:
            # background=True also turns off the SDK's client-side continuation
            # hops (each of which would be another POST).
            return self._client.interactions.create(**body)
        except Exception as exc:
            if never_sent(exc):
                raise EngineError(
                    ErrorKind.UNAVAILABLE, f"Could not reach Gemini: {describe(exc)}"
                ) from exc
            if is_transport_error(exc):
                raise SubmissionUncertain(
                    f"The request to Gemini may or may not have been taken ({describe(exc)})."
                ) from exc
            failure = failure_of(exc)
            if failure is None:
                raise
            if failure.status is None:  # An unreadable 200: it was taken.
                raise SubmissionUncertain(
                    f"Gemini answered the request with something unreadable: {failure.message}"
                ) from exc
            if failure.status == 504:  # The gateway gave up; the backend may not have.
                raise SubmissionUncertain(
                    f"Gemini timed out answering the request: {failure.message}"
                ) from exc
            if previous_interaction_id and names_previous_interaction(failure):
                raise PreviousInteractionGone(failure) from exc
            raise error_from_failure(failure, context="create") from exc

    # -- Files API --------------------------------------------------------------

    def _upload(self, media: InputMedia, keep_alive: Callable[[], None]) -> RemoteFile:
        """Upload a video through the Files API and wait (bounded) until
        ACTIVE, telling the studio it is still at work between steps."""
        if not media.path.is_file():
            raise EngineError(ErrorKind.INVALID_INPUT, f"The file for {media.key} is missing.")
        config = genai_types.UploadFileConfig(mime_type=media.mime_type, display_name=media.key)
        # Uploading is free, so it may be repeated.
        uploaded = self._with_retries(
            lambda: self._client.files.upload(file=media.path, config=config),
            context="upload",
            keep_alive=keep_alive,
        )
        keep_alive()
        waited = 0.0
        delay = 1.0
        current = uploaded
        while True:
            state = _state_name(current.state)
            if state == "ACTIVE":
                break
            if state == "FAILED":
                reason = current.error.message if current.error and current.error.message else ""
                raise EngineError(
                    ErrorKind.INVALID_INPUT,
                    f"Gemini could not process the video {media.key}"
                    + (f": {reason}" if reason else "."),
                )
            if waited >= self.file_wait_seconds:
                raise EngineError(
                    ErrorKind.TIMED_OUT,
                    f"The video {media.key} was still being processed by Gemini after "
                    f"{waited:.0f} s.",
                    retry_after=30.0,
                )
            keep_alive()
            self._sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 10.0)
            name = current.name or uploaded.name
            current = self._with_retries(
                lambda name=name: self._client.files.get(name=name),
                context="file",
                keep_alive=keep_alive,
            )
        uri = current.uri or uploaded.uri
        if not uri:
            raise EngineError(ErrorKind.UNAVAILABLE, "The Files API named no uri for the upload.")
        expires = current.expiration_time or uploaded.expiration_time
        return RemoteFile(key=media.key, uri=uri, expires_at=expires)

    # -- poll -------------------------------------------------------------------

    def poll(
        self,
        interaction_id: str,
        request: GenerationRequest,
        *,
        progress: ProgressCallback,
    ) -> PollResult:
        interaction = self._with_retries(
            lambda: self._client.interactions.get(interaction_id),
            context="poll",
            retries=self.poll_retries,
        )
        status = str(interaction.status or "")
        usage = _usage_of(interaction)
        if status == "queued":
            return PollResult(state=PollState.QUEUED, usage=usage)
        if status in ("in_progress", "requires_continuation"):
            return PollResult(state=PollState.RUNNING, usage=usage)
        if status == "completed":
            output = self._output_of(interaction)
            if output is None and interaction.output_text:
                raise EngineError(
                    ErrorKind.NOT_UNDERSTOOD,
                    f"Gemini answered without a video: {interaction.output_text.strip()}",
                )
            # A uri named only by the create response is in the Submission.
            return PollResult(state=PollState.COMPLETED, output=output, usage=usage)
        raise terminal_error(interaction, status)

    @staticmethod
    def _output_of(interaction: Any) -> VideoOutput | None:
        block = interaction.output_video
        if block is None:
            for step in reversed(interaction.steps or []):
                if getattr(step, "type", None) != "model_output":
                    continue
                for content in reversed(getattr(step, "content", None) or []):
                    if getattr(content, "type", None) == "video":
                        block = content
                        break
                if block is not None:
                    break
        if block is None:
            return None
        mime_type = str(block.mime_type or "video/mp4")
        if block.data:
            return VideoOutput(data=base64.b64decode(block.data), mime_type=mime_type)
        if block.uri:
            return VideoOutput(uri=block.uri, mime_type=mime_type)
        return None

    # -- fetch ------------------------------------------------------------------

    def fetch_output(self, output: VideoOutput, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".part")
        try:
            if output.data is not None:
                partial.write_bytes(output.data)
            elif output.uri:
                self._with_retries(
                    lambda: download(
                        self._downloads,
                        uri=output.uri,
                        destination=partial,
                        api_key=self.api_key,
                        base_url=self.base_url,
                    ),
                    context="download",
                )
            elif output.path is not None:
                shutil.copyfile(output.path, partial)
            else:
                raise EngineError(ErrorKind.UNAVAILABLE, "The finished video has no content.")
            os.replace(partial, destination)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    @functools.cached_property
    def _downloads(self) -> Any:  # the SDK's httpx client class
        # One client for every download: making one costs a TLS context.
        return http_client(self.timeout)

    # -- cancel -----------------------------------------------------------------

    def check_instruction(self, prompt: str) -> None:
        """Nothing to check: the model reads the instruction as free text."""

    def cancel(self, interaction_id: str) -> None:
        if not self._continuable(interaction_id):
            return
        try:
            self._with_retries(
                lambda: self._client.interactions.cancel(interaction_id), context="cancel"
            )
        except EngineError as error:
            if error.kind is ErrorKind.INPUT_EXPIRED:
                return  # Nothing left to cancel.
            raise

    # -- retries and errors -----------------------------------------------------

    def _with_retries(
        self,
        call: Callable[[], T],
        *,
        context: str,
        retries: int | None = None,
        keep_alive: Callable[[], None] | None = None,
    ) -> T:
        """Run a call that is safe to repeat, retrying transient failures with
        exponential backoff and jitter, honouring Retry-After; past the
        retries (or a wait too long to sleep), the error carries the wait."""
        retries = self.retries if retries is None else retries
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:
                error = translate(exc, context=context)
                if not error.kind.is_transient:
                    raise error from exc
                backoff = min(2.0**attempt, 30.0)
                wait = backoff * self._random.uniform(0.5, 1.0)
                if error.retry_after is not None:
                    wait = max(wait, error.retry_after + self._random.uniform(0.0, 0.5))
                if attempt >= retries or wait > self.max_retry_wait:
                    raise EngineError(
                        error.kind,
                        f"{error.message} (after {attempt + 1} attempts)",
                        retry_after=error.retry_after if error.retry_after is not None else backoff,
                    ) from exc
                logger.info("Gemini %s failed (%s); retrying in %.1f s", context, error, wait)
                if keep_alive is not None:
                    keep_alive()
                self._sleep(wait)
                attempt += 1


def _usage_of(interaction: Any) -> Usage | None:
    usage = interaction.usage
    if usage is None:
        return None
    input_tokens = usage.total_input_tokens or 0
    output_tokens = usage.total_output_tokens or 0
    return Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        total_tokens=usage.total_tokens or input_tokens + output_tokens,
    )


def _state_name(state: Any) -> str:
    value = getattr(state, "value", state)
    return str(value or "").upper()


def _generation_config(request: GenerationRequest, task: Task) -> dict[str, Any]:
    # The model has no extend task: an extension is image to video.
    made_as = Task.IMAGE_TO_VIDEO if task is Task.EXTEND else task
    config: dict[str, Any] = {"video_config": {"task": made_as.value}}
    if request.seed is not None:
        config["seed"] = request.seed
    return config
