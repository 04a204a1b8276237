"""The Gemini engine: Gemini Omni Flash through google-genai's Interactions API.

This is the only module in the project that imports ``google.genai``. The wire
format it relies on was read from, and is pinned by tests/contract against,
google-genai 3.4.0:

- ``POST /{v}/interactions`` creates an interaction. We always send
  ``background=true`` and ``store=true`` (a stored interaction is what an edit
  continues), ``response_format`` ``{"type": "video", "aspect_ratio",
  "resolution", "duration": "<n>s", "delivery": "uri"}``,
  ``generation_config.video_config.task`` and, for edits,
  ``previous_interaction_id``. A list of content blocks passed as ``input`` is
  sent by the SDK as one ``{"type": "user_input", "content": [...]}`` step.
- ``GET /{v}/interactions/{id}`` polls; ``POST /{v}/interactions/{id}/cancel``
  cancels. ``status`` is one of queued, in_progress, requires_continuation,
  completed, failed, cancelled, incomplete, budget_exceeded, requires_action.
- The video is a ``{"type": "video", "data" | "uri", "mime_type"}`` block in
  a ``model_output`` step of ``steps``; the SDK surfaces the last one as
  ``Interaction.output_video``. Failures are listed in ``Interaction.errors``
  (``{"code": "safety", "message": ...}``, codes as in the Interactions API
  error reference) and in a step's ``error`` (``google.rpc.Status``).
- Error responses are ``{"error": {"code": "<string>", "message": ...}}``.
- Files API: ``POST /upload/{v}/files`` (resumable start, upload url in the
  ``x-goog-upload-url`` header), the bytes to that url, then
  ``GET /{v}/files/{id}`` until ``state`` is ACTIVE (or FAILED).

Money is spent by exactly one call, the create. The SDK would retry it (the
interactions client defaults to 5 attempts, 5xx and 429 included, and there is
no idempotency key), so the client is built with ``attempts=1`` and this
module does its own retries, only where they are safe: polls, file look-ups,
downloads and cancels.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import logging
import os
import random
import re
import shutil
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urljoin, urlsplit

from google import genai
from google.genai import _interactions as genai_interactions
from google.genai import errors as genai_errors
from google.genai import types as genai_types

from studio.engines.base import (
    ASPECT_RATIOS,
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

try:  # google-genai 3.x ships httpx2; older releases used httpx.
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

try:  # The SDK may raise either flavour, depending on its backend.
    import httpx as _httpx_classic
except ImportError:
    _httpx_classic = None  # type: ignore[assignment]

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

# Interactions API "generation blocked" codes (ai.google.dev/gemini-api/docs/api-errors).
_SAFETY_CODES = frozenset(
    {
        "safety",
        "recitation",
        "prohibited_content",
        "spii",
        "blocklist",
        "image_safety",
        "image_prohibited_content",
        "image_recitation",
        "image_other",
        "video_safety",
        "video_prohibited_content",
        "video_recitation",
        "video_other",
        "content_blocked",
    }
)
_NOT_UNDERSTOOD_CODES = frozenset({"language"})
_RATE_CODES = frozenset({"rate_limit_exceeded", "quota_exceeded", "too_many_requests"})
_BUDGET_CODES = frozenset({"payment_required", "budget_exceeded", "billing_disabled"})
_UNAVAILABLE_CODES = frozenset({"api_error", "service_unavailable", "internal", "unavailable"})
_TIMEOUT_CODES = frozenset({"deadline_exceeded", "timeout"})
_INVALID_CODES = frozenset(
    {"invalid_request", "invalid_argument", "failed_precondition", "out_of_range", "not_found"}
)
_SAFETY_WORDS = re.compile(r"\b(safety|unsafe|blocked|prohibited|harmful|policy violation)", re.I)
_REGION_WORDS = re.compile(
    r"\b(user location|your location|location is not supported|region|country|territor)", re.I
)
_EXPIRED_FILE_WORDS = re.compile(r"\bfiles?\b.*\b(not found|expired|does not exist)", re.I)


@dataclass(frozen=True)
class _ApiFailure:
    """What an error response said, whichever client raised it."""

    status: int | None
    code: str
    message: str
    headers: Any = None


class GeminiEngine:
    """Gemini Omni Flash over the Interactions API (see the module docstring)."""

    name = "gemini"

    def __init__(
        self,
        *,
        api_key: str | None = None,
        model: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        poll_retries: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        file_wait_seconds: float = 300.0,
        max_retry_wait: float = 60.0,
    ) -> None:
        if api_key is None:
            # Configured from the environment, through Django settings.
            from django.conf import settings

            api_key = settings.GEMINI_API_KEY
            model = model or getattr(settings, "GEMINI_MODEL", "")
            base_url = (
                base_url if base_url is not None else getattr(settings, "GEMINI_BASE_URL", "")
            )
            if timeout is None:
                timeout = getattr(settings, "GEMINI_TIMEOUT_SECONDS", None)
        if not api_key:
            raise ValueError("GeminiEngine needs an API key (set GEMINI_API_KEY).")
        self.api_key = api_key
        self.model = model or DEFAULT_MODEL
        self.base_url = (base_url or "").rstrip("/")
        self.timeout = float(timeout) if timeout else DEFAULT_TIMEOUT_SECONDS
        self.poll_retries = max(0, poll_retries)
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

    # -- capabilities ---------------------------------------------------------

    def capabilities(self) -> Capabilities:
        return Capabilities(
            name=self.name,
            label="Gemini Omni Flash",
            tasks=frozenset(Task),
            aspect_ratios=ASPECT_RATIOS,
            resolutions=RESOLUTIONS,
            min_duration=MIN_DURATION,
            max_duration=MAX_DURATION,
            max_images=MAX_IMAGES,
            max_videos=MAX_VIDEOS,
            max_prompt_chars=MAX_PROMPT_CHARS,
            reports_percent=False,
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
                "delivery": "uri",
            },
            "generation_config": {"video_config": {"task": request.task.value}},
        }

        previous = request.previous_interaction_id
        if self._continuable(previous):
            try:
                interaction = self._create({**body, "input": [*media, text]}, previous)
                route = ROUTE_CONTINUED
            except _PreviousInteractionGone as gone:
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
            interaction = self._create({**body, "input": [*media, text]}, "")
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
        if request.task is Task.IMAGE_TO_VIDEO and not request.images:
            raise invalid("Image to video needs an image.")
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
            blocks.append(self._video_block(video, uploads))
        for image in request.images:
            data = base64.b64encode(image.path.read_bytes()).decode("ascii")
            blocks.append({"type": "image", "data": data, "mime_type": image.mime_type})
        return blocks

    def _video_block(self, video: InputMedia, uploads: list[RemoteFile]) -> dict:
        if self._reusable(video):
            uri = video.remote_uri
        else:
            remote = self._upload(video)
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
        parent = self._video_block(request.parent_video, uploads)
        body = {**body, "generation_config": {"video_config": {"task": Task.EDIT.value}}}
        return self._create({**body, "input": [parent, *media, text]}, ""), ROUTE_UPLOADED_PARENT

    def _create(self, body: dict[str, Any], previous_interaction_id: str) -> Any:
        """The paid call: exactly one POST, never retried."""
        if previous_interaction_id:
            body = {**body, "previous_interaction_id": previous_interaction_id}
        try:
            # background=True also turns off the SDK's client-side continuation
            # hops (each of which would be another POST).
            return self._client.interactions.create(**body)
        except Exception as exc:
            if _never_sent(exc):
                raise EngineError(
                    ErrorKind.UNAVAILABLE, f"Could not reach Gemini: {_describe(exc)}"
                ) from exc
            if _is_transport_error(exc):
                raise SubmissionUncertain(
                    f"The request to Gemini may or may not have been taken ({_describe(exc)})."
                ) from exc
            failure = _failure_of(exc)
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
            if previous_interaction_id and _names_previous_interaction(failure):
                raise _PreviousInteractionGone(failure) from exc
            raise _error_from_failure(failure, context="create") from exc

    # -- Files API --------------------------------------------------------------

    def _upload(self, media: InputMedia) -> RemoteFile:
        """Upload a video through the Files API and wait (bounded) until ACTIVE."""
        if not media.path.is_file():
            raise EngineError(ErrorKind.INVALID_INPUT, f"The file for {media.key} is missing.")
        config = genai_types.UploadFileConfig(mime_type=media.mime_type, display_name=media.key)
        # Uploading is free, so it may be repeated.
        uploaded = self._with_retries(
            lambda: self._client.files.upload(file=media.path, config=config), context="upload"
        )
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
            self._sleep(delay)
            waited += delay
            delay = min(delay * 1.5, 10.0)
            name = current.name or uploaded.name
            current = self._with_retries(
                lambda name=name: self._client.files.get(name=name), context="file"
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
            lambda: self._client.interactions.get(interaction_id), context="poll"
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
        raise self._terminal_error(interaction, status)

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

    def _terminal_error(self, interaction: Any, status: str) -> EngineError:
        reasons = _reasons_of(interaction)
        said = "; ".join(r.message for r in reasons if r.message)
        if status == "failed":
            for reason in reasons:
                error = _error_from_failure(reason, context="generation")
                if error.kind.is_block:
                    return error
            if reasons:
                return _error_from_failure(reasons[0], context="generation")
            return EngineError(ErrorKind.UNAVAILABLE, "Gemini failed to make the video.")
        if status == "cancelled":
            return EngineError(ErrorKind.CANCELLED, "The generation was cancelled at Gemini.")
        if status == "budget_exceeded":
            return EngineError(
                ErrorKind.BUDGET_EXCEEDED,
                "Gemini stopped: the budget for this project is spent"
                + (f" ({said})." if said else "."),
            )
        if status == "requires_action":
            return EngineError(
                ErrorKind.INVALID_INPUT,
                "Gemini asked for something the studio cannot give (a tool call or a "
                "confirmation); rephrase the prompt as a plain video request.",
            )
        if status == "incomplete":
            for reason in reasons:
                error = _error_from_failure(reason, context="generation")
                if error.kind.is_block:
                    return error
            return EngineError(
                ErrorKind.UNAVAILABLE,
                "Gemini stopped before the video was finished" + (f": {said}" if said else "."),
            )
        return EngineError(ErrorKind.UNAVAILABLE, f"Gemini reported an unknown status {status!r}.")

    # -- fetch ------------------------------------------------------------------

    def fetch_output(self, output: VideoOutput, destination: Path) -> None:
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".part")
        try:
            if output.data is not None:
                partial.write_bytes(output.data)
            elif output.uri:
                self._with_retries(lambda: self._download(output.uri, partial), context="download")
            elif output.path is not None:
                shutil.copyfile(output.path, partial)
            else:
                raise EngineError(ErrorKind.UNAVAILABLE, "The finished video has no content.")
            os.replace(partial, destination)
        finally:
            with contextlib.suppress(FileNotFoundError):
                partial.unlink()

    def _download(self, uri: str, destination: Path) -> None:
        """Stream uri to destination. The API key goes only to the API's own
        host (a redirect to signed storage must not carry it)."""
        api_host = urlsplit(self.base_url or "https://generativelanguage.googleapis.com").netloc
        timeout = httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0))
        url = uri
        with httpx.Client(timeout=timeout, follow_redirects=False) as http:
            for _hop in range(6):
                host = urlsplit(url).netloc
                headers = {"x-goog-api-key": self.api_key} if host == api_host else {}
                with http.stream("GET", url, headers=headers) as response:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        response.read()
                        raise _error_from_failure(
                            _failure_from_response(response.status_code, response), "download"
                        )
                    if response.headers.get("content-type", "").startswith("application/json"):
                        # A Files API resource, not its bytes: follow it to them.
                        response.read()
                        meta = _json_or_empty(response)
                        meta = meta.get("file", meta) if isinstance(meta, dict) else {}
                        next_url = meta.get("downloadUri") or meta.get("download_uri")
                        url = next_url or f"{url.split('?')[0]}:download?alt=media"
                        continue
                    with destination.open("wb") as out:
                        for chunk in response.iter_bytes():
                            out.write(chunk)
                    if destination.stat().st_size == 0:
                        raise EngineError(ErrorKind.UNAVAILABLE, "Gemini sent an empty video.")
                    return
        raise EngineError(ErrorKind.UNAVAILABLE, "Too many redirects downloading the video.")

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

    def _with_retries(self, call: Callable[[], T], *, context: str) -> T:
        """Run a call that is safe to repeat, retrying transient failures with
        exponential backoff and jitter, honouring Retry-After."""
        attempt = 0
        while True:
            try:
                return call()
            except Exception as exc:
                error = self._translate(exc, context=context)
                if not error.kind.is_transient:
                    raise error from exc
                backoff = min(2.0**attempt, 30.0)
                wait = backoff * self._random.uniform(0.5, 1.0)
                if error.retry_after is not None:
                    wait = max(wait, error.retry_after + self._random.uniform(0.0, 0.5))
                if attempt >= self.poll_retries or wait > self.max_retry_wait:
                    raise EngineError(
                        error.kind,
                        f"{error.message} (after {attempt + 1} attempts)",
                        retry_after=error.retry_after if error.retry_after is not None else backoff,
                    ) from exc
                logger.info("Gemini %s failed (%s); retrying in %.1f s", context, error, wait)
                self._sleep(wait)
                attempt += 1

    def _translate(self, exc: BaseException, *, context: str) -> EngineError:
        if isinstance(exc, EngineError):
            return exc
        if _is_transport_error(exc):
            if _is_timeout(exc):
                return EngineError(
                    ErrorKind.TIMED_OUT, f"Gemini did not answer in time ({context})."
                )
            return EngineError(ErrorKind.UNAVAILABLE, f"Could not reach Gemini: {_describe(exc)}")
        failure = _failure_of(exc)
        if failure is None:
            raise exc
        return _error_from_failure(failure, context=context)


class _PreviousInteractionGone(Exception):
    def __init__(self, failure: _ApiFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


# -- helpers --------------------------------------------------------------------


def _transport_error_types() -> tuple[type[BaseException], ...]:
    types_: list[type[BaseException]] = [
        httpx.TransportError,
        genai_interactions.APIConnectionError,
    ]
    if _httpx_classic is not None:
        types_.append(_httpx_classic.TransportError)
    return tuple(types_)


_TRANSPORT_ERRORS = _transport_error_types()
_NOT_SENT_NAMES = frozenset(
    {"ConnectError", "ConnectTimeout", "PoolTimeout", "UnsupportedProtocol"}
)


def _chain(exc: BaseException) -> Iterable[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _is_transport_error(exc: BaseException) -> bool:
    return isinstance(exc, _TRANSPORT_ERRORS)


def _is_timeout(exc: BaseException) -> bool:
    for item in _chain(exc):
        if isinstance(item, genai_interactions.APITimeoutError):
            return True
        if "Timeout" in type(item).__name__:
            return True
    return False


def _never_sent(exc: BaseException) -> bool:
    """The request provably never left: the connection was not made."""
    if not _is_transport_error(exc):
        return False
    return any(type(item).__name__ in _NOT_SENT_NAMES for item in _chain(exc))


def _describe(exc: BaseException) -> str:
    for item in _chain(exc):
        if item is not exc and str(item):
            return f"{type(item).__name__}: {item}"
    return f"{type(exc).__name__}: {exc}"


def _failure_of(exc: BaseException) -> _ApiFailure | None:
    """The status, code and message of an API error from either client."""
    if isinstance(exc, genai_interactions.APIResponseValidationError):
        return _ApiFailure(None, "", str(exc.message))
    if isinstance(exc, genai_interactions.APIStatusError):
        code, message = _code_and_message(exc.body)
        return _ApiFailure(exc.status_code, code, message or str(exc.message), exc.response.headers)
    if isinstance(exc, genai_errors.APIError):
        code, message = _code_and_message(exc.details)
        if not code and isinstance(exc.status, str):
            code = exc.status
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        return _ApiFailure(exc.code, code, message or str(exc.message or exc), headers)
    return None


def _failure_from_response(status: int, response: Any) -> _ApiFailure:
    code, message = _code_and_message(_json_or_empty(response))
    return _ApiFailure(status, code, message or f"HTTP {status}", response.headers)


def _json_or_empty(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return {}


def _code_and_message(body: Any) -> tuple[str, str]:
    if not isinstance(body, dict):
        return "", str(body) if body else ""
    error = body.get("error", body)
    if not isinstance(error, dict):
        return "", str(error)
    code = error.get("code")
    status = error.get("status")
    code_text = code if isinstance(code, str) else (status if isinstance(status, str) else "")
    return code_text, str(error.get("message") or "")


def _code_name(code: str) -> str:
    """The bare code: "safety" from "safety", "SAFETY" or a URI ending in it."""
    return code.rstrip("/").rsplit("/", 1)[-1].rsplit("#", 1)[-1].lower()


def _names_previous_interaction(failure: _ApiFailure) -> bool:
    text = f"{failure.code} {failure.message}".lower()
    if "previous_interaction" in text or "previous interaction" in text:
        return True
    return (
        failure.status == 404
        and "interaction" in text
        and "model" not in text
        and "file" not in text
    )


def _retry_after(headers: Any) -> float | None:
    if headers is None:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds:
        with contextlib.suppress(ValueError):
            return max(0.0, float(milliseconds) / 1000)
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_from_failure(failure: _ApiFailure, context: str) -> EngineError:
    """Map an API error (a response or an interaction's recorded error) to a
    kind a person can act on, keeping the API's own message."""
    code = _code_name(failure.code)
    message = failure.message or code or f"HTTP {failure.status}"
    status = failure.status
    retry_after = _retry_after(failure.headers)

    blocked = f"Blocked by Gemini's safety filters: {message}"
    if code in _SAFETY_CODES:
        return EngineError(ErrorKind.SAFETY_BLOCKED, blocked)
    if code in _NOT_UNDERSTOOD_CODES:
        return EngineError(ErrorKind.NOT_UNDERSTOOD, f"Gemini did not accept the prompt: {message}")
    if _REGION_WORDS.search(message) and status in (None, 400, 403, 451):
        return EngineError(ErrorKind.REGION_POLICY, f"Not available here: {message}")
    if status is None and _SAFETY_WORDS.search(message):
        return EngineError(ErrorKind.SAFETY_BLOCKED, blocked)
    if status == 429 or code in _RATE_CODES:
        return EngineError(
            ErrorKind.RATE_LIMITED,
            f"Gemini is rate limiting this key: {message}",
            retry_after=retry_after if retry_after is not None else 60.0,
        )
    if status == 402 or code in _BUDGET_CODES:
        return EngineError(ErrorKind.BUDGET_EXCEEDED, f"Gemini billing refused it: {message}")
    if status in (408, 504) or code in _TIMEOUT_CODES:
        return EngineError(
            ErrorKind.TIMED_OUT, f"Gemini timed out: {message}", retry_after=retry_after
        )
    if (status is not None and status >= 500) or code in _UNAVAILABLE_CODES:
        return EngineError(
            ErrorKind.UNAVAILABLE, f"Gemini is unavailable: {message}", retry_after=retry_after
        )
    if status == 499 or code == "cancelled":
        return EngineError(ErrorKind.CANCELLED, f"Cancelled: {message}")
    if context in ("file", "download") and status in (403, 404, 410):
        return EngineError(ErrorKind.INPUT_EXPIRED, f"The file at Gemini has expired: {message}")
    if status == 404 and context in ("poll", "cancel"):
        return EngineError(
            ErrorKind.INPUT_EXPIRED, f"Gemini no longer has this interaction: {message}"
        )
    if status in (400, 404) and _EXPIRED_FILE_WORDS.search(message):
        return EngineError(ErrorKind.INPUT_EXPIRED, f"An uploaded file has expired: {message}")
    if status in (401, 403):
        return EngineError(ErrorKind.INVALID_INPUT, f"Gemini refused the API key: {message}")
    if status is None and code not in _INVALID_CODES:
        # Recorded on a failed interaction with no code we know: not the
        # request's fault as far as we can tell.
        return EngineError(ErrorKind.UNAVAILABLE, f"Gemini failed to make the video: {message}")
    return EngineError(ErrorKind.INVALID_INPUT, f"Gemini refused the request: {message}")


def _reasons_of(interaction: Any) -> list[_ApiFailure]:
    reasons = [
        _ApiFailure(None, str(error.code or ""), str(error.message or ""))
        for error in interaction.errors or []
    ]
    for step in interaction.steps or []:
        error = getattr(step, "error", None)
        if error is not None and (error.message or error.details):
            code = ""
            for detail in error.details or []:
                reason = detail.get("reason") if isinstance(detail, dict) else None
                if isinstance(reason, str):
                    code = reason
                    break
            reasons.append(_ApiFailure(None, code, str(error.message or "")))
    return reasons


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
