"""The OpenAPI document's limits are the ones the API enforces: each is read
from the constant, setting or engine capability the services and forms
validate with, so changing one changes both (and this fails if they part)."""

import re

import pytest
from django.test import Client
from pydantic import TypeAdapter
from pydantic import ValidationError as PydanticError

from projects.api.docs import engine_choices, max_instruction_chars
from projects.api.schemas import (
    EDIT_ONLY_FIELDS,
    GENERATION_ONLY_FIELDS,
    KEPT_BY_EDITS,
    NOT_BLANK_PATTERN,
    STORABLE_PATTERN,
    text,
)
from projects.forms import CommentForm, EditForm, GenerateForm, ProjectForm, ReviewForm
from projects.media import (
    IMAGE_FORMATS,
    MAX_IMAGE_SIDE,
    MIN_IMAGE_SIDE,
    VIDEO_CONTAINERS,
    VIDEO_MEDIA_TYPES,
)
from projects.models import Project
from projects.services import annotations
from projects.services.engines import capabilities_of, engine_names
from projects.services.prompts import PROMPT_FIELDS, edit_prompt


@pytest.fixture
def document(db):
    return Client().get("/api/v1/openapi.json").json()


def _components(document) -> dict:
    return document["components"]["schemas"]


def _value(prop: dict) -> dict:
    return next((b for b in prop.get("anyOf", ()) if b.get("type") != "null"), prop)


def _operation(document, operation_id: str) -> dict:
    return next(
        operation
        for methods in document["paths"].values()
        for operation in methods.values()
        if operation["operationId"] == operation_id
    )


def test_text_limits_are_the_models_and_forms(document):
    schemas = _components(document)
    title = Project._meta.get_field("title").max_length
    assert schemas["ProjectCreateIn"]["properties"]["title"]["maxLength"] == title
    assert schemas["ProjectRenameIn"]["properties"]["title"]["maxLength"] == title
    assert ProjectForm().fields["title"].max_length == title
    for name in PROMPT_FIELDS:
        limit = schemas["PromptFields"]["properties"][name]["maxLength"]
        assert limit == GenerateForm.base_fields[name].max_length
    assert (
        _value(schemas["VersionCreateIn"]["properties"]["preserve"])["maxLength"]
        == EditForm.base_fields["preserve"].max_length
    )
    body = schemas["CommentCreateIn"]["properties"]["body"]
    assert body["maxLength"] == CommentForm.base_fields["body"].max_length
    assert schemas["CommentEditIn"]["properties"]["body"]["maxLength"] == body["maxLength"]
    note = schemas["ReviewCreateIn"]["properties"]["note"]
    assert note["maxLength"] == ReviewForm.base_fields["note"].max_length


def test_prompt_limits_are_the_settings_the_service_checks(document, settings):
    version_in = _components(document)["VersionCreateIn"]["properties"]
    assert _value(version_in["prompt"])["maxLength"] == settings.STUDIO_MAX_PROMPT_CHARS
    instruction = _value(version_in["instruction"])["maxLength"]
    longest = edit_prompt(instruction="x" * instruction, keep_rest_same=True, preserve="y" * 300)
    assert len(longest) <= settings.STUDIO_MAX_PROMPT_CHARS
    assert instruction == max_instruction_chars()

    settings.STUDIO_MAX_PROMPT_CHARS = 1234
    changed = Client().get("/api/v1/openapi.json").json()
    prompt = _components(changed)["VersionCreateIn"]["properties"]["prompt"]
    assert _value(prompt)["maxLength"] == 1234


def test_version_choices_are_what_the_configured_engines_make(document):
    version_in = _components(document)["VersionCreateIn"]["properties"]
    capabilities = [capabilities_of(name) for name in engine_names()]
    assert _value(version_in["engine"])["enum"] == engine_names()
    duration = _value(version_in["duration_seconds"])
    assert duration["minimum"] == min(c.min_duration for c in capabilities)
    assert duration["maximum"] == max(c.max_duration for c in capabilities)
    assert set(_value(version_in["aspect_ratio"])["enum"]) == {
        ratio for c in capabilities for ratio in c.aspect_ratios
    }
    assert set(_value(version_in["resolution"])["enum"]) == {
        r for c in capabilities for r in c.resolutions
    }
    frame_rates = {rate for c in capabilities for rate in c.frame_rates}
    assert set(_value(version_in["fps"])["enum"]) == frame_rates
    for caps in capabilities:
        assert (
            f"`{caps.name}`: {caps.min_duration} to {caps.max_duration} s"
            in (version_in["duration_seconds"]["description"])
        )
    assert engine_choices().engines == tuple(engine_names())


def test_a_generation_and_an_edit_each_take_only_their_fields(document):
    schemas = _components(document)
    body = _operation(document, "version_create")["requestBody"]["content"]["application/json"]
    assert body["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/GenerationIn"},
        {"$ref": "#/components/schemas/EditIn"},
    ]
    generation, edit = schemas["GenerationIn"], schemas["EditIn"]
    assert not set(EDIT_ONLY_FIELDS) & set(generation["properties"])
    assert "parent" not in generation["properties"]
    assert not (set(GENERATION_ONLY_FIELDS) | set(KEPT_BY_EDITS)) & set(edit["properties"])
    assert edit["required"] == ["parent", "instruction"]
    assert generation["additionalProperties"] is edit["additionalProperties"] is False


def test_a_box_is_no_smaller_than_the_service_takes(document):
    box = _components(document)["BoxShape"]["properties"]
    assert box["w"]["minimum"] == box["h"]["minimum"] == annotations.MIN_BOX_SIDE


def test_a_drawing_has_the_services_limits_on_a_version_and_on_a_render(document):
    schemas = _components(document)
    stroke = schemas["StrokeShape"]["properties"]["points"]
    assert stroke["maxItems"] == annotations.MAX_STROKE_POINTS
    version, render = (
        schemas[name]["properties"]["annotation"] for name in ("CommentCreateIn", "RenderCommentIn")
    )
    for drawing in (version, render):
        assert drawing["maxItems"] == annotations.MAX_SHAPES
        assert f"at most {annotations.MAX_POINTS} points in all" in drawing["description"]
        assert drawing["items"]["discriminator"]["propertyName"] == "kind"
    assert render["items"] == version["items"]  # the same shapes, by reference
    assert "moved into that version's own picture" in render["description"]


def test_the_upload_says_its_types_and_sizes(document, settings):
    body = _operation(document, "asset_upload")["requestBody"]["content"]["multipart/form-data"]
    content_types = body["encoding"]["file"]["contentType"].split(", ")
    assert content_types == [
        "image/jpeg",
        "image/png",
        "image/webp",
        "video/mp4",
        "video/quicktime",
        "video/webm",
    ]
    assert list(IMAGE_FORMATS.values()) == content_types[:3]
    assert VIDEO_MEDIA_TYPES.keys() == VIDEO_CONTAINERS.keys()
    file = body["schema"]["properties"]["file"]
    largest = max(settings.STUDIO_MAX_IMAGE_BYTES, settings.STUDIO_MAX_VIDEO_BYTES)
    assert file["maxLength"] == largest
    assert f"{MIN_IMAGE_SIDE} to {MAX_IMAGE_SIDE} pixels" in file["description"]


@pytest.mark.parametrize(
    "value", ["a", " a ", "\u00e9t\u00e9", "", " ", "\t\n", "a\x00", "\x00", "\u2003", "x" * 50]
)
def test_the_text_patterns_accept_what_the_validators_accept(value):
    for required, pattern in ((True, NOT_BLANK_PATTERN), (False, STORABLE_PATTERN)):
        adapter = TypeAdapter(text(100, required=required))
        try:
            adapter.validate_python(value)
            accepted = True
        except PydanticError:
            accepted = False
        assert accepted == bool(re.search(pattern, value)), (value, required)


def test_every_error_answer_has_the_error_body(document):
    for methods in document["paths"].values():
        for operation in methods.values():
            assert "401" in operation["responses"]
            for status, response in operation["responses"].items():
                if 400 <= int(status) < 500 and int(status) != 416:
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/ErrorOut"}, status
