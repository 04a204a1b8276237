"""Schemathesis against the API's own OpenAPI schema, in-process over ASGI:
every operation, with valid and invalid input, answers without a server
error, with a documented status and content type, and as its schema says
(schemathesis' negative_data_rejection is left out: it wants unknown query
parameters refused, which the API ignores, as the pages do)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from projects.models import Membership, Sequence, SequenceClip, SequenceRender, Version
from projects.services.tokens import api_token_create
from studio.asgi import application
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory

CONFIG = schemathesis.Config.from_dict(
    {
        # An event stream never ends by itself: its first event is enough.
        "max-stream-events": 1,
        "request-timeout": 20,
    }
)
# Examples per operation, valid and invalid mixed.
EXAMPLES = 25
# The same cases every run, nothing written to the checkout, no time limits.
HYPOTHESIS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],
)


@pytest.fixture
def world(transactional_db, settings):
    """A project the token's user owns, with a ready version (without a video
    file, so media answers 404) and another member's comment on it, and a
    sequence of that version with a ready render (its video missing too)."""
    settings.STUDIO_API_MAX_ACTIVE_GENERATIONS = 5
    member = MembershipFactory(role=Membership.Role.OWNER)
    MembershipFactory(workspace=member.workspace, role=Membership.Role.VIEWER)
    project = ProjectFactory(workspace=member.workspace, created_by=member.user)
    v1 = VersionFactory(project=project, number=1, status=Version.Status.READY, video_duration=3.0)
    VersionFactory(project=project, number=2, status=Version.Status.GENERATING, progress=0.5)
    project.last_version_number = 2
    project.save()
    sequence = Sequence.objects.create(project=project, title="Cut", last_render_number=1)
    SequenceClip.objects.create(sequence=sequence, position=0, version=v1, out_seconds=3.0)
    SequenceRender.objects.create(
        sequence=sequence,
        number=1,
        clips=[
            {"version": v1.pk, "number": 1, "in": 0.0, "out": 3.0, "transition": "cut"}
            | {"transition_seconds": 0.0, "starts_at": 0.0, "frames": 72}
        ],
        aspect_ratio="16:9",
        width=852,
        height=480,
        fps=24,
        status=SequenceRender.Status.READY,
        duration_seconds=3.0,
    )
    _, token = api_token_create(user=member.user, name="schemathesis")
    return {
        "project": project.pk,
        "workspace": member.workspace_id,
        "sequence": sequence.pk,
        "token": token,
    }


def aim_at_real_objects(case, world) -> None:
    """Most generated ids miss everything (404); point three in four at the
    real project and versions so the fuzzing reaches the code behind them."""
    parameters = case.path_parameters or {}
    project_id = parameters.get("project_id")
    if isinstance(project_id, int) and project_id % 4:
        parameters["project_id"] = world["project"]
    number = parameters.get("number")
    if isinstance(number, int) and number % 4:
        parameters["number"] = 1 + number % 2
    workspace_id = parameters.get("workspace_id")
    if "/webhooks" in case.operation.path and isinstance(workspace_id, int) and workspace_id % 4:
        parameters["workspace_id"] = world["workspace"]
    sequence_id = parameters.get("sequence_id")
    if isinstance(sequence_id, int) and sequence_id % 4:
        parameters["sequence_id"] = world["sequence"]
    if isinstance(case.query, dict) and isinstance(case.query.get("workspace"), int):
        case.query["workspace"] = world["workspace"]
    operation = case.operation
    creates_a_version = operation.method.upper() == "POST" and operation.path.endswith("/versions")
    if creates_a_version and isinstance(case.body, dict):
        _plausible_version(case.body)


EDIT_ONLY = ("instruction", "keep_rest_same", "preserve", "addresses")
GENERATION_ONLY = ("prompt", "prompt_fields", "assets", "kind", "aspect_ratio", "resolution")


def _plausible_version(body: dict) -> None:
    """Fuzzed text, but a generation or edit the local engine could make, so
    creation is reached and not only refused."""
    body["engine"] = "local"
    if isinstance(body.get("parent"), int):
        body["parent"] = 1  # the ready version
        for name in (*GENERATION_ONLY, "duration_seconds"):
            body.pop(name, None)
    else:
        body.pop("parent", None)
        for name in (*EDIT_ONLY, "assets"):
            body.pop(name, None)
        if isinstance(body.get("duration_seconds"), int):
            body["duration_seconds"] = 3 + body["duration_seconds"] % 8


def test_every_operation_conforms_to_its_schema(world):
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", application, config=CONFIG)
    headers = {"Authorization": f"Bearer {world['token']}"}
    failures = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting the project comes last, or everything after it would be 404.
    operations.sort(key=lambda operation: operation.method.upper() == "DELETE")
    assert len(operations) >= 20

    for operation in operations:
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        )

        @settings(HYPOTHESIS, max_examples=EXAMPLES)
        @given(case=cases)
        def check(case):
            aim_at_real_objects(case, world)
            case.call_and_validate(
                headers=headers,
                checks=[
                    not_a_server_error,
                    response_schema_conformance,
                    status_code_conformance,
                    content_type_conformance,
                    response_headers_conformance,
                ],
            )

        try:
            check()
        except Exception as failure:  # every operation is tried; all failures are reported
            failures[operation.label] = failure
    assert not failures, "\n\n".join(f"{label}:\n{failure}" for label, failure in failures.items())
