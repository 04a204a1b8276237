"""Every error the API answers with has one shape:

{"error": {"code": "<stable code>", "message": "<for a person>", "field": "<name or null>"}}
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from projects.media import MediaError
from projects.services.errors import StudioError

logger = logging.getLogger(__name__)

# Where ninja says a parameter was read from (the first part of an error's
# location); a body's location then names the body parameter itself.
_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}
_BODY_PARAMETERS = {"payload"}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def error_response(
    status: int,
    code: str,
    message: str,
    *,
    field: str | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    response = JsonResponse(
        {"error": {"code": code, "message": message, "field": field}}, status=status
    )
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def invalid(error: StudioError | MediaError, *, field: str | None = None, **renamed: str):
    """A service's refusal of the input as a 422, naming the API's field for
    the form field the service named."""
    message = getattr(error, "message", None) or str(error)
    name = field or getattr(error, "field", None)
    return ApiError(422, "validation_error", message, field=renamed.get(name or "", name))


def _field_from_loc(loc) -> str | None:
    names = [str(part) for part in loc if not isinstance(part, int)]
    if names and names[0] in _LOCATIONS:
        location = names.pop(0)
        if location == "body" and names and names[0] in _BODY_PARAMETERS:
            names.pop(0)
    return ".".join(names) or None


def _validation_message(error: dict) -> str:
    field = _field_from_loc(error.get("loc", ()))
    message = error.get("msg", "Invalid value.")
    if error.get("type") == "extra_forbidden":
        message = "This field is not part of the request."
    return f"{field}: {message}" if field else message


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(ApiError)
    def api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
        return error_response(
            exc.status, exc.code, exc.message, field=exc.field, headers=exc.headers
        )

    @api.exception_handler(AuthenticationError)
    def not_authenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return error_response(
            401,
            "not_authenticated",
            "Send a valid API token: `Authorization: Bearer <token>`. "
            "Create one under API tokens, in the header of any page.",
            headers={"WWW-Authenticate": 'Bearer realm="omni-studio"'},
        )

    @api.exception_handler(ValidationError)
    def validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
        first = exc.errors[0] if exc.errors else {}
        return error_response(
            422,
            "validation_error",
            "; ".join(_validation_message(error) for error in exc.errors) or "Invalid request.",
            field=_field_from_loc(first.get("loc", ())),
        )

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        codes = {400: "bad_request", 403: "permission_denied", 429: "rate_limited"}
        message = str(exc)
        if exc.status_code == 400:
            message = "The request body is not valid JSON."
        return error_response(exc.status_code, codes.get(exc.status_code, "error"), message)

    @api.exception_handler(StudioError)
    def studio_error(request: HttpRequest, exc: StudioError) -> HttpResponse:
        return error_response(422, "validation_error", exc.message, field=exc.field)

    @api.exception_handler(MediaError)
    def media_error(request: HttpRequest, exc: MediaError) -> HttpResponse:
        return error_response(422, "validation_error", str(exc), field="file")

    @api.exception_handler(PermissionDenied)
    def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        return error_response(
            403, "permission_denied", str(exc) or "Your role does not allow this."
        )

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return error_response(404, "not_found", str(exc) or "Not found.")

    @api.exception_handler(SuspiciousOperation)
    def suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
        return error_response(
            400, "bad_request", "The request was refused as malformed or too large."
        )

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path)
        return error_response(500, "server_error", "Something went wrong on our side.")
