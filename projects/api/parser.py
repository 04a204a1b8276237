"""How the API reads request bodies: JSON only when it says it is JSON (a
middleware, since ninja turns any parsing error into a 400), and one file per
upload field, so a request means exactly one thing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.datastructures import MultiValueDict
from ninja.parser import Parser

from projects.api.errors import ApiError, error_response

# What an API request's body may be: JSON, or a form carrying a file.
BODY_TYPES = {"application/json", "multipart/form-data"}


def api_content_types(get_response: Callable[[HttpRequest], HttpResponse]):
    """Refuse an API body that is not JSON or a multipart form with 415."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if (
            request.path.startswith("/api/")
            and request.method in {"POST", "PUT", "PATCH"}
            and request.headers.get("Content-Length", "0") not in {"", "0"}
            and request.content_type not in BODY_TYPES
        ):
            return error_response(
                415,
                "unsupported_media_type",
                "Send the body as JSON with Content-Type: application/json (or a file as "
                f"multipart/form-data), not {request.content_type or 'no type'}.",
            )
        return get_response(request)

    return middleware


class StrictParser(Parser):
    def parse_querydict(
        self, data: MultiValueDict, list_fields: list[str], request: HttpRequest
    ) -> dict[str, Any]:
        if data is request.FILES:
            for key in data:
                if key not in list_fields and len(data.getlist(key)) > 1:
                    raise ApiError(422, "validation_error", f"Send one file in `{key}`.", field=key)
        return super().parse_querydict(data, list_fields, request)
