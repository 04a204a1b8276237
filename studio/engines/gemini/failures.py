"""What Gemini's failures mean, as ErrorKinds a person can act on: error
responses from either client the SDK uses, failed interactions, Retry-After."""

from __future__ import annotations

import contextlib
import email.utils
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.genai import _interactions as genai_interactions
from google.genai import errors as genai_errors

from studio.engines.base import EngineError, ErrorKind
from studio.engines.gemini.transport import describe, is_timeout, is_transport_error

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
class ApiFailure:
    """What an error response said, whichever client raised it."""

    status: int | None
    code: str
    message: str
    headers: Any = None


class PreviousInteractionGone(Exception):
    def __init__(self, failure: ApiFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def failure_of(exc: BaseException) -> ApiFailure | None:
    """The status, code and message of an API error from either client."""
    if isinstance(exc, genai_interactions.APIResponseValidationError):
        return ApiFailure(None, "", str(exc.message))
    if isinstance(exc, genai_interactions.APIStatusError):
        code, message = _code_and_message(exc.body)
        return ApiFailure(exc.status_code, code, message or str(exc.message), exc.response.headers)
    if isinstance(exc, genai_errors.APIError):
        code, message = _code_and_message(exc.details)
        if not code and isinstance(exc.status, str):
            code = exc.status
        response = getattr(exc, "response", None)
        headers = getattr(response, "headers", None)
        return ApiFailure(exc.code, code, message or str(exc.message or exc), headers)
    return None


def failure_from_response(status: int, response: Any) -> ApiFailure:
    code, message = _code_and_message(json_or_empty(response))
    return ApiFailure(status, code, message or f"HTTP {status}", response.headers)


def json_or_empty(response: Any) -> Any:
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


def names_previous_interaction(failure: ApiFailure) -> bool:
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


def error_from_failure(failure: ApiFailure, context: str) -> EngineError:
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


def reasons_of(interaction: Any) -> list[ApiFailure]:
    reasons = [
        ApiFailure(None, str(error.code or ""), str(error.message or ""))
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
            reasons.append(ApiFailure(None, code, str(error.message or "")))
    return reasons


def terminal_error(interaction: Any, status: str) -> EngineError:
    """Why an interaction that ended in status made no video."""
    reasons = reasons_of(interaction)
    said = "; ".join(r.message for r in reasons if r.message)
    if status == "failed":
        for reason in reasons:
            error = error_from_failure(reason, context="generation")
            if error.kind.is_block:
                return error
        if reasons:
            return error_from_failure(reasons[0], context="generation")
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
            error = error_from_failure(reason, context="generation")
            if error.kind.is_block:
                return error
        return EngineError(
            ErrorKind.UNAVAILABLE,
            "Gemini stopped before the video was finished" + (f": {said}" if said else "."),
        )
    return EngineError(ErrorKind.UNAVAILABLE, f"Gemini reported an unknown status {status!r}.")


def translate(exc: BaseException, *, context: str) -> EngineError:
    """The EngineError for what a call raised; what is no API or transport
    error is raised again."""
    if isinstance(exc, EngineError):
        return exc
    if is_transport_error(exc):
        if is_timeout(exc):
            return EngineError(ErrorKind.TIMED_OUT, f"Gemini did not answer in time ({context}).")
        return EngineError(ErrorKind.UNAVAILABLE, f"Could not reach Gemini: {describe(exc)}")
    failure = failure_of(exc)
    if failure is None:
        raise exc
    return error_from_failure(failure, context=context)
