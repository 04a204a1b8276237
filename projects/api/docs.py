"""The OpenAPI document made exact, and browsable docs that work offline
under the studio's CSP.

django-ninja ships Swagger UI (JS, CSS and an init script that reads its
settings from a JSON block, so no inline script is needed). Its own docs page
only uses those files when "ninja" is an installed app and otherwise loads
them from a CDN; rather than change INSTALLED_APPS, this page points at the
same files served from the installed package by `docs_asset`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ninja
from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET
from ninja.openapi.docs import DocsBase

from projects import media
from projects.api.schemas import (
    EDIT_ONLY_FIELDS,
    GENERATION_ONLY_FIELDS,
    KEPT_BY_EDITS,
    NOT_BLANK_PATTERN,
)
from projects.services.engines import capabilities_of, engine_names
from projects.services.extend import extend_engine_names
from projects.services.prompts import PROMPT_FIELD_MAX_CHARS, PROMPT_FIELDS, edit_prompt
from projects.services.webhook_targets import url_pattern
from studio.engines.base import RESOLUTION_HEIGHTS

NINJA_STATIC = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-init.js": "text/javascript",
    "favicon.svg": "image/svg+xml",
}


class LocalSwagger(DocsBase):
    settings = {"layout": "BaseLayout", "deepLinking": True}

    def render_page(self, request: HttpRequest, api: ninja.NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        # "<" escaped, so the JSON cannot close its script element.
        settings_json = json.dumps(settings).replace("<", "\\u003c")

        def asset(name: str) -> str:
            return reverse(f"{api.urls_namespace}:docs_asset", args=[name])

        page = format_html(
            '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            "<title>{} – docs</title>\n"
            '<link rel="icon" href="{}" type="image/svg+xml">\n'
            '<link rel="stylesheet" href="{}">\n</head>\n'
            '<body data-csrf-token="" data-api-csrf="">\n'
            '<script type="application/json" id="swagger-settings">{}</script>\n'
            '<div id="swagger-ui"></div>\n'
            '<script src="{}"></script>\n<script src="{}"></script>\n'
            "</body>\n</html>\n",
            api.title,
            asset("favicon.svg"),
            asset("swagger-ui.css"),
            mark_safe(settings_json),  # "<" escaped above
            asset("swagger-ui-bundle.js"),
            asset("swagger-ui-init.js"),
        )
        return HttpResponse(page)


@login_not_required
@require_GET
def docs_asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404("No such file.")
    # FileResponse closes the file once it is sent.
    handle = open(NINJA_STATIC / name, "rb")  # noqa: SIM115
    response = FileResponse(handle, content_type=ASSETS[name])
    response["Cache-Control"] = "public, max-age=86400"
    return response


# The OpenAPI document made exact. ninja writes it from the schemas in
# schemas.py (whose limits are the services' constants); what depends on
# the configured engines and settings, the upload's file types, the links
# between operations and the error answers are added here, from the same
# functions and settings the services validate with.

IMAGE_MEDIA_TYPES = tuple(media.IMAGE_FORMATS.values())
VIDEO_MEDIA_TYPES = tuple(media.VIDEO_MEDIA_TYPES.values())

ERROR_DESCRIPTIONS = {
    400: "`bad_request`: the body is not valid JSON (or is malformed).",
    401: "`not_authenticated`: no valid API token.",
    403: "`permission_denied`: your role does not allow this.",
    404: "`not_found`: no such object in your workspaces.",
    409: "`conflict`: the object is not in a state that allows this.",
    413: "`too_large`: the body is over its limit.",
    415: "`unsupported_media_type`: the body is not JSON (or, for an upload, multipart).",
    422: "`validation_error`, naming the `field`: a value the operation cannot take.",
    429: "`rate_limited`, with `Retry-After`: too many wrong tokens from this address, "
    "or (creating versions) too many unfinished generations.",
}


@dataclass(frozen=True)
class EngineChoices:
    """What at least one configured engine makes: the union the schema
    documents (each engine's own rule is in the descriptions)."""

    engines: tuple[str, ...]
    aspect_ratios: tuple[str, ...]
    resolutions: tuple[str, ...]
    frame_rates: tuple[int, ...]
    durations: tuple[int, ...]
    rules: str


def engine_choices() -> EngineChoices:
    capabilities = [capabilities_of(name) for name in engine_names()]

    def union(values) -> list:
        return list(dict.fromkeys(value for caps in capabilities for value in values(caps)))

    rules = "; ".join(
        f"`{caps.name}`: {caps.min_duration} to {caps.max_duration} s, "
        f"{', '.join(caps.aspect_ratios)}, {', '.join(caps.resolutions)}, "
        f"{', '.join(map(str, caps.frame_rates))} fps, "
        f"{', '.join(sorted(str(task) for task in caps.tasks))}"
        for caps in capabilities
    )
    return EngineChoices(
        engines=tuple(caps.name for caps in capabilities),
        aspect_ratios=tuple(union(lambda caps: caps.aspect_ratios)),
        resolutions=tuple(sorted(union(lambda caps: caps.resolutions), key=RESOLUTION_HEIGHTS.get)),
        frame_rates=tuple(sorted(union(lambda caps: caps.frame_rates))),
        durations=tuple(sorted(union(lambda caps: caps.durations))),
        rules=rules,
    )


def max_instruction_chars() -> int:
    """The longest instruction whose edit prompt (with "keep everything else
    the same" and the longest preserve list) stays within the prompt limit."""
    longest_tail = edit_prompt(
        instruction="", keep_rest_same=True, preserve="x" * PROMPT_FIELD_MAX_CHARS
    )
    return settings.STUDIO_MAX_PROMPT_CHARS - len(longest_tail)


def exact_openapi(schema: dict) -> dict:
    """ninja's document with the engine choices, the two forms of a version
    request, the upload's files, the error answers and the links added."""
    components = schema["components"]["schemas"]
    _version_choices(components["VersionCreateIn"], engine_choices())
    operations = {
        operation["operationId"]: operation
        for methods in schema["paths"].values()
        for operation in methods.values()
    }
    components["GenerationIn"], components["EditIn"] = _version_forms(components["VersionCreateIn"])
    operations["version_create"]["requestBody"]["content"]["application/json"]["schema"] = {
        "oneOf": [
            {"$ref": "#/components/schemas/GenerationIn"},
            {"$ref": "#/components/schemas/EditIn"},
        ]
    }
    _upload_body(operations["asset_upload"])
    _value_schema(components["WebhookIn"]["properties"]["url"])["pattern"] = url_pattern()
    _value_schema(components["ReplayCreateIn"]["properties"]["engine"])["enum"] = list(
        engine_choices().engines
    )
    _extend_choices(components["ExtendIn"]["properties"])
    for operation in operations.values():
        _error_responses(operation)
    for source, links in LINKS.items():
        for status, targets in links.items():
            response = operations[source]["responses"][status]
            response["links"] = {
                target: {"operationId": target, "parameters": parameters}
                for target, parameters in targets.items()
            }
    return schema


def _extend_choices(props: dict) -> None:
    """What an extension may ask: an engine that extends, and seconds it
    makes at a time (each engine's own range is in the description)."""
    names = extend_engine_names()
    engine = _value_schema(props["engine"])
    engine.pop("maxLength", None)
    engine.pop("pattern", None)
    engine["enum"] = list(names)
    ranges = [capabilities_of(name) for name in names]
    seconds = _value_schema(props["seconds"])
    seconds["minimum"] = min(caps.min_duration for caps in ranges)
    seconds["maximum"] = max(caps.max_duration for caps in ranges)
    rules = "; ".join(f"`{c.name}`: {c.min_duration} to {c.max_duration} s" for c in ranges)
    props["seconds"]["description"] = (
        props["seconds"].get("description", "") + f" Each engine: {rules}."
    ).strip()
    _value_schema(props["instruction"])["maxLength"] = max_instruction_chars()


def _value_schema(prop: dict) -> dict:
    """The non-null branch of an optional field."""
    for branch in prop.get("anyOf", ()):
        if branch.get("type") != "null":
            return branch
    return prop


def _version_choices(version_in: dict, choices: EngineChoices) -> None:
    props = version_in["properties"]
    engine = _value_schema(props["engine"])
    engine.pop("maxLength", None)
    engine.pop("pattern", None)
    engine["enum"] = list(choices.engines)
    _value_schema(props["aspect_ratio"])["enum"] = list(choices.aspect_ratios)
    _value_schema(props["resolution"])["enum"] = list(choices.resolutions)
    _value_schema(props["fps"])["enum"] = list(choices.frame_rates)
    duration = _value_schema(props["duration_seconds"])
    if choices.durations == tuple(range(choices.durations[0], choices.durations[-1] + 1)):
        duration.update(minimum=choices.durations[0], maximum=choices.durations[-1])
    else:
        duration.pop("minimum", None)
        duration.pop("maximum", None)
        duration["enum"] = list(choices.durations)
    per_engine = f" Each engine makes its own: {choices.rules}."
    for name in ("engine", "aspect_ratio", "resolution", "duration_seconds", "fps", "kind"):
        props[name]["description"] = (props[name].get("description", "") + per_engine).strip()
    _value_schema(props["prompt"])["maxLength"] = settings.STUDIO_MAX_PROMPT_CHARS
    _value_schema(props["instruction"])["maxLength"] = max_instruction_chars()


def _version_forms(version_in: dict) -> tuple[dict, dict]:
    """The two forms of a version request: a generation (with a prompt, or
    structured fields that write one) and an edit (a parent and what to
    change), each with only the fields it takes."""
    props = version_in["properties"]
    edit_only = {*EDIT_ONLY_FIELDS, "parent", "section_start"}
    generation = {
        "title": "GenerationIn",
        "type": "object",
        "additionalProperties": False,
        "properties": {name: prop for name, prop in props.items() if name not in edit_only},
        "anyOf": [
            {"required": ["prompt"], "properties": {"prompt": _not_blank()}},
            {
                "required": ["prompt_fields"],
                "properties": {
                    "prompt_fields": {
                        "type": "object",
                        "anyOf": [
                            {"required": [name], "properties": {name: _not_blank()}}
                            for name in PROMPT_FIELDS
                        ],
                    }
                },
            },
        ],
        "description": "A generation: a `prompt`, or `prompt_fields` that write one.",
    }
    skipped = {*GENERATION_ONLY_FIELDS, *KEPT_BY_EDITS}
    edit_props = {name: prop for name, prop in props.items() if name not in skipped}
    edit_props["parent"] = {
        **_value_schema(props["parent"]),
        "description": props["parent"]["description"],
    }
    edit_props["instruction"] = {
        **_value_schema(props["instruction"]),
        "pattern": NOT_BLANK_PATTERN,
        "description": props["instruction"]["description"],
    }
    edit = {
        "title": "EditIn",
        "type": "object",
        "additionalProperties": False,
        "properties": edit_props,
        "required": ["parent", "instruction"],
        "description": "An edit of the `parent` version: it keeps the parent's "
        f"{', '.join(KEPT_BY_EDITS)} as far as the engine makes them.",
    }
    return generation, edit


def _not_blank() -> dict:
    return {"type": "string", "pattern": NOT_BLANK_PATTERN}


def _upload_body(operation: dict) -> None:
    content = operation["requestBody"]["content"]["multipart/form-data"]
    image_mb = settings.STUDIO_MAX_IMAGE_BYTES // (1024 * 1024)
    video_mb = settings.STUDIO_MAX_VIDEO_BYTES // (1024 * 1024)
    file = content["schema"]["properties"]["file"]
    file["maxLength"] = max(settings.STUDIO_MAX_IMAGE_BYTES, settings.STUDIO_MAX_VIDEO_BYTES)
    file["description"] = (
        f"A still ({', '.join(IMAGE_MEDIA_TYPES)}; at most {image_mb} MB and "
        f"{settings.STUDIO_MAX_IMAGE_PIXELS // 1_000_000} megapixels; its sides are fitted "
        f"to {media.MIN_IMAGE_SIDE} to {media.MAX_IMAGE_SIDE} pixels) or a clip "
        f"({', '.join(VIDEO_MEDIA_TYPES)}; at most {video_mb} MB, "
        f"{settings.STUDIO_MAX_VIDEO_SECONDS} s and {settings.STUDIO_MAX_VIDEO_SIDE} pixels "
        "on a side). Checked by content, not by name."
    )
    content["encoding"] = {
        "file": {"contentType": ", ".join((*IMAGE_MEDIA_TYPES, *VIDEO_MEDIA_TYPES))}
    }


def _error_responses(operation: dict) -> None:
    responses = operation["responses"]
    if operation.get("security"):
        responses.setdefault(429, _error(429))
    for status, response in list(responses.items()):
        code = int(status)
        if code in ERROR_DESCRIPTIONS:
            response["description"] = ERROR_DESCRIPTIONS[code]
            response.setdefault("content", _error(code)["content"])


def _error(status: int) -> dict:
    return {
        "description": ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorOut"}}},
    }


# What each operation's answer leads to: {source: {status: {target: parameters}}}.
_PROJECT = {"project_id": "$response.body#/id"}
_VERSION = {"project_id": "$response.body#/project", "number": "$response.body#/number"}
_SAME_VERSION = {"project_id": "$request.path.project_id", "number": "$request.path.number"}
_COMMENT = {**_SAME_VERSION, "comment_id": "$response.body#/id"}
_ON_PROJECT = (
    "project_get",
    "sequence_create",
    "replay_create",
    "replay_list",
    "project_rename",
    "project_delete",
    "asset_list",
    "asset_upload",
    "version_list",
    "version_create",
    "project_pick",
    "project_events",
)
_ON_VERSION = (
    "version_get",
    "version_cancel",
    "version_retry",
    "version_rerun",
    "version_extend",
    "version_decide",
    "version_video",
    "version_poster",
    "version_events",
    "comment_list",
    "comment_create",
    "review_list",
    "review_create",
)
_ON_COMMENT = ("comment_edit", "comment_resolve", "comment_delete")
_FIRST_WORKSPACE = {"workspace_id": "$response.body#/0/id"}
_SAME_WORKSPACE = {"workspace_id": "$request.path.workspace_id"}
_SAME_PROJECT = {"project_id": "$request.path.project_id"}
_ON_SEQUENCE = ("sequence_get", "sequence_clips_replace", "sequence_render")
_ON_RENDER = (
    "sequence_render_get",
    "sequence_render_video",
    "sequence_render_comment",
    "sequence_render_provenance",
)
_ON_WEBHOOK = ("webhook_rotate", "webhook_enable", "webhook_delete", "webhook_deliveries")
LINKS: dict[str, dict[int, dict[str, dict[str, str]]]] = {
    "workspace_list": {
        200: {
            name: _FIRST_WORKSPACE
            for name in (
                "member_list",
                "invitation_list",
                "invitation_create",
                "webhook_list",
                "webhook_create",
            )
        }
    },
    "member_list": {
        200: {
            name: {**_SAME_WORKSPACE, "member_id": "$response.body#/0/id"}
            for name in ("member_change_role", "member_remove")
        }
    },
    "member_change_role": {
        200: {"member_remove": {**_SAME_WORKSPACE, "member_id": "$request.path.member_id"}}
    },
    "invitation_create": {
        201: {
            "invitation_list": _SAME_WORKSPACE,
            "member_list": _SAME_WORKSPACE,
            "webhook_list": _SAME_WORKSPACE,
            "invitation_revoke": {**_SAME_WORKSPACE, "invitation_id": "$response.body#/id"},
        }
    },
    "project_create": {201: {name: _PROJECT for name in _ON_PROJECT}},
    # Deleting is linked from creating only: a listed project may be everyone's.
    "project_list": {
        200: {
            name: {"project_id": "$response.body#/items/0/id"}
            for name in _ON_PROJECT
            if name != "project_delete"
        }
    },
    "asset_upload": {
        201: {
            name: {"project_id": "$request.path.project_id"}
            for name in ("asset_list", "version_list", "version_create")
        }
    },
    "version_create": {201: {name: _VERSION for name in _ON_VERSION}},
    "version_rerun": {201: {name: _VERSION for name in _ON_VERSION}},
    "version_extend": {201: {name: _VERSION for name in _ON_VERSION}},
    "version_list": {
        200: {
            name: {
                "project_id": "$request.path.project_id",
                "number": "$response.body#/items/0/number",
            }
            for name in _ON_VERSION
        }
    },
    "comment_create": {201: {name: _COMMENT for name in _ON_COMMENT}},
    "sequence_create": {
        201: {name: {**_SAME_PROJECT, "sequence_id": "$response.body#/id"} for name in _ON_SEQUENCE}
    },
    "sequence_get": {
        200: {
            name: {**_SAME_PROJECT, "sequence_id": "$request.path.sequence_id"}
            for name in _ON_SEQUENCE
            if name != "sequence_get"
        }
    },
    "sequence_render": {
        201: {
            name: {
                **_SAME_PROJECT,
                "sequence_id": "$request.path.sequence_id",
                "number": "$response.body#/number",
            }
            for name in _ON_RENDER
        }
    },
    "replay_create": {201: {"replay_get": {**_SAME_PROJECT, "replay_id": "$response.body#/id"}}},
    "replay_list": {200: {"replay_get": {**_SAME_PROJECT, "replay_id": "$response.body#/0/id"}}},
    "webhook_create": {
        201: {
            "webhook_list": _SAME_WORKSPACE,
            "member_list": _SAME_WORKSPACE,
            **{
                name: {**_SAME_WORKSPACE, "webhook_id": "$response.body#/id"}
                for name in _ON_WEBHOOK
            },
        }
    },
    "webhook_list": {
        200: {
            name: {**_SAME_WORKSPACE, "webhook_id": "$response.body#/0/id"} for name in _ON_WEBHOOK
        }
    },
    "webhook_deliveries": {
        200: {
            "webhook_redeliver": {
                **_SAME_WORKSPACE,
                "webhook_id": "$request.path.webhook_id",
                "delivery_id": "$response.body#/items/0/id",
            }
        }
    },
    "comment_list": {
        200: {name: {**_SAME_VERSION, "comment_id": "$response.body#/0/id"} for name in _ON_COMMENT}
    },
}
