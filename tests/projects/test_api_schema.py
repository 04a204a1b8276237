"""Schemathesis against the API's own OpenAPI schema, in-process over ASGI:
every operation, with valid and invalid input, answers without a server
error, with a documented status and content type, and as its schema says
(schemathesis' negative_data_rejection is left out: it wants unknown query
parameters refused, which the API ignores, as the pages do)."""

import functools
import io
from collections import Counter, defaultdict

import pytest
import schemathesis
from django.core.files.base import ContentFile
from django.test import Client
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from PIL import Image
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.file_samples import MEDIA_TYPE_FILE_SAMPLES
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    content_type_conformance,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
    use_after_free,
)

from projects.api.docs import IMAGE_MEDIA_TYPES, VIDEO_MEDIA_TYPES
from projects.api.schemas import MAX_NUMBER
from projects.models import (
    Comment,
    IdempotencyRecord,
    Membership,
    Project,
    Sequence,
    SequenceClip,
    SequenceRender,
    Version,
    WebhookEndpoint,
)
from projects.services import webhook_targets
from projects.services.tokens import api_token_create
from studio.asgi import application
from tests.factories import MembershipFactory, ProjectFactory, VersionFactory
from tests.projects.test_api import clip_bytes

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
def world(transactional_db, settings, monkeypatch):
    """A workspace the token's user owns, furnished as `_furnish` says, and
    how to put it back so (each stateful scenario starts from it)."""
    settings.STUDIO_API_MAX_ACTIVE_GENERATIONS = 5
    # Any webhook host the run makes up has a public address (example.com's):
    # the run registers webhooks, and never sends to them.
    monkeypatch.setattr(webhook_targets, "resolve_host", lambda host, port: ["93.184.215.14"])
    # ignored_auth sends a wrong token after every step: answered 401 here,
    # not paused as an attack (test_api.py tests the pause).
    settings.AXES_FAILURE_LIMIT = 10**6
    member = MembershipFactory(role=Membership.Role.OWNER)
    _, token = api_token_create(user=member.user, name="schemathesis")
    world = {"workspace": member.workspace_id, "token": token}
    world["objects"] = _furnish(member)
    world["project"] = world["objects"]["project_id"][0]
    world["sequence"] = world["objects"]["sequence_id"][0]

    def reset() -> None:
        world["objects"] = _furnish(member)

    world["reset"] = reset
    return world


def _furnish(member: Membership) -> dict[str, list[int]]:
    """The workspace as each scenario starts: only the owner and a viewer, and
    one project with the VERSIONS below and a comment by each on the ready one."""
    workspace = member.workspace
    Project.objects.filter(workspace=workspace).delete()
    IdempotencyRecord.objects.all().delete()
    workspace.invitations.all().delete()
    WebhookEndpoint.objects.filter(workspace=workspace).delete()
    Membership.objects.filter(workspace=workspace).exclude(pk=member.pk).delete()
    Membership.objects.filter(pk=member.pk).update(role=Membership.Role.OWNER)
    viewer = MembershipFactory(workspace=workspace, role=Membership.Role.VIEWER)
    project = ProjectFactory(workspace=workspace, created_by=member.user)
    ready = VersionFactory(
        project=project, number=1, status=Version.Status.READY, video_duration=0.5
    )
    ready.video.save("v1.mp4", ContentFile(_clip()), save=False)
    ready.poster.save("v1.jpg", ContentFile(_poster()), save=False)
    ready.save()
    for number, status in enumerate(
        (Version.Status.GENERATING, Version.Status.FAILED, Version.Status.RECONCILE), start=2
    ):
        VersionFactory(project=project, number=number, status=status)
    project.last_version_number = VERSIONS
    project.save()
    comments = [
        Comment.objects.create(version=ready, author=author, body=body, start_seconds=0.2).pk
        for author, body in ((viewer.user, "Brighter?"), (member.user, "Logo later"))
    ]
    # A sequence of the ready version with a ready render (its video missing).
    sequence = Sequence.objects.create(project=project, title="Cut", last_render_number=1)
    SequenceClip.objects.create(sequence=sequence, position=0, version=ready, out_seconds=0.5)
    SequenceRender.objects.create(
        sequence=sequence,
        number=1,
        clips=[
            {"version": ready.pk, "number": 1, "in": 0.0, "out": 0.5, "transition": "cut"}
            | {"transition_seconds": 0.0, "starts_at": 0.0, "frames": 12}
        ],
        aspect_ratio="16:9",
        width=852,
        height=480,
        fps=24,
        status=SequenceRender.Status.READY,
        duration_seconds=0.5,
    )
    # The ids a step may be pointed at, by path parameter.
    return {
        "project_id": [project.pk],
        "number": list(range(1, VERSIONS + 1)),
        "comment_id": comments,
        "workspace_id": [workspace.pk],
        "member_id": [viewer.pk],
        "sequence_id": [sequence.pk],
    }


# The versions each scenario starts with: ready (with its video and poster),
# generating, failed and needing a decision.
VERSIONS = 4


@functools.cache
def _clip() -> bytes:
    return clip_bytes()


@functools.cache
def _poster() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (160, 96), "navy").save(buffer, "JPEG")
    return buffer.getvalue()


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


# Stateful: the links in the schema chain each operation to what an earlier
# one created, so every operation is reached with real objects.

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
# What the stateful run checks besides: a deleted object is gone, a created
# one is there, the token is needed, a required header is required, and a
# method an operation lacks is refused with the methods it has.
STATEFUL_CHECKS = [
    use_after_free,
    ensure_resource_availability,
    ignored_auth,
    missing_required_header,
    unsupported_method,
    allow_header_conformance,
]
# 422s for what no schema can say: the state of the objects a request names
# (a parent not ready, ids not on it, ...) and rules across fields. Each is
# the service's own message, so a new refusal the schema could have stated
# fails the run.
STATE_REFUSALS = (
    "is not ready",
    "There is no asset",
    "There is no comment",
    "There is no version",
    "Write a prompt",
    "is for edits",
    "An edit is described by",
    "An edit works on its parent",
    "A version with a `parent` is an edit",
    "An edit keeps its parent",
    "cannot do",
    "Upload a still to animate",
    "takes at most",
    "Add the images or clips",
    "section",
    "The whole clip is edited at once",
    "past the edge of the picture",
    "within the video",
    "A range needs a start time",
    "The range must end after it starts",
    "A drawing is on a frame",
    "Draw on the frame in a comment of its own",
    "Reply to a comment on this version",
    # An instruction's meaning is the engine's grammar, which no schema states.
    "does not understand",
    "found no edit to make",
    "A trim must keep",
    "plays at double or half speed",
    "applies to the whole video",
    "would end before it starts",
    "The edit asks",
    "Idempotency-Key",
    "A workspace needs an owner",
    "A drawing has at most",
    # A webhook's host is looked up, and only public addresses are taken.
    "could not be resolved",
    "has no address",
    "webhooks go to public addresses only",
    "The URL's host name is not valid",
    "A workspace has at most",
    "is turned off",
    # A replay's chain is a run of edits of this project.
    "is not an edit",
    "There is no v",
    "onto a version outside it",
    "cannot be made on",
    # An extension of a version: ready, and within the 60 s a version lasts;
    # its prompt carries the parent's shot, whose length is the parent's.
    "Only a ready version is extended",
    "a version lasts at most",
    "The prompt is",
    # A sequence's clips: their versions, in and out points and crossfades
    # against those versions' lengths and each other.
    "Add a clip to the sequence",
    "The render has no clips",
    "The project has no ready versions",
    "only ready versions go into a sequence",
    "the out point",
    "is longer than",
    "less than its crossfades",
    "within the render",
    "not both",
)


def accepts_valid_data(ctx, response, case):
    """schemathesis' positive_data_acceptance, but for the 422s above."""
    if response.status_code == 422:
        message = response.json()["error"]["message"]
        if any(reason in message for reason in STATE_REFUSALS):
            return None
    return positive_data_acceptance(ctx, response, case)


def _register_upload_files() -> None:
    """Files of each type the upload takes (schemathesis' smallest samples
    and a real clip), so valid uploads are generated as such."""
    for media_type, sample in MEDIA_TYPE_FILE_SAMPLES.items():
        if media_type in IMAGE_MEDIA_TYPES:
            schemathesis.openapi.media_type(media_type, st.just(sample))
    clip = _clip()
    for media_type in VIDEO_MEDIA_TYPES:
        schemathesis.openapi.media_type(media_type, st.just(clip))


def steer_to_scenario_objects(case, world, *, linked: set[str]) -> None:
    """A step's own ids (not given by a link) are random and miss everything:
    point three in four at the scenario's objects and make the rest surely
    missing. Decided by the drawn values alone, never by what the database
    holds (which Hypothesis' replays would find changed)."""
    objects = world["objects"]
    parameters = case.path_parameters or {}
    for name, value in parameters.items():
        if name in linked or type(value) is not int or not 1 <= value <= MAX_NUMBER:
            continue
        choices = objects.get(name)
        aimed = value % 4 and choices
        parameters[name] = choices[(value // 4) % len(choices)] if aimed else MISSING


# An id no scenario reaches (valid for every id parameter).
MISSING = MAX_NUMBER


def test_the_stateful_run_reaches_every_operation_and_accepts_valid_data(world):
    _register_upload_files()
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", application, config=CONFIG)
    headers = {"Authorization": f"Bearer {world['token']}"}
    labels = {result.ok().label for result in schema.get_all_operations()}
    called: defaultdict[str, Counter] = defaultdict(Counter)
    failures: list[str] = []

    class APIWorkflows(schema.as_state_machine()):
        def setup(self):
            # The same start every scenario, or Hypothesis finds its replays flaky.
            world["reset"]()

        def step(self, input):
            linked = {name for _, name in input.applied_parameters}
            steer_to_scenario_objects(input.case, world, linked=linked)
            return super().step(input)

        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            super().after_call(response, case)
            called[case.operation.label][response.status_code] += 1

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # Collected rather than raised: a replayed scenario would meet the
            # database as the first run left it, which Hypothesis calls flaky.
            try:
                case.validate_response(
                    response,
                    checks=[*CHECKS, *STATEFUL_CHECKS, accepts_valid_data],
                    headers=headers,
                    recorder=self.recorder,
                    transport_kwargs={"headers": headers},
                )
            except FailureGroup as failure:
                failures.append(f"{case.operation.label} {response.status_code}: {failure}")

    APIWorkflows.run(
        settings=settings(HYPOTHESIS, max_examples=STATEFUL_SCENARIOS, stateful_step_count=20)
    )
    assert not failures, "\n\n".join(dict.fromkeys(failures))
    # The engine list takes nothing and feeds nothing: no scenario step leads
    # to it (the stateless test above covers it).
    assert labels - set(called) <= {"GET /api/v1/engines"}
    answered = [label for label, statuses in called.items() if any(s < 400 for s in statuses)]
    # Most of the API answers with success somewhere in the run; the rest is
    # reached and refused as it should be (a version not ready to review or
    # without its video yet, another member's comment).
    assert len(answered) >= len(labels) * 3 // 4, "\n".join(
        f"{label}: {dict(statuses)}" for label, statuses in sorted(called.items())
    )


STATEFUL_SCENARIOS = 110


def test_every_operation_on_an_object_is_the_target_of_a_link(db):
    document = Client().get("/api/v1/openapi.json").json()
    targets = {
        link["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
        for response in operation["responses"].values()
        for link in response.get("links", {}).values()
    }
    needs_an_object = {
        operation["operationId"]
        for methods in document["paths"].values()
        for operation in methods.values()
        if any(p["in"] == "path" for p in operation.get("parameters", []))
    }
    assert needs_an_object - targets == set()
