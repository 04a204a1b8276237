"""Progress as server-sent events, for scripts.

Each stream subscribes a fresh channel to the project's group (the same
events the browsers' websockets get), sends a snapshot from the database,
then turns every event into the changed version's state, read again from the
database: the channel layer says *that* something changed, the database says
what. A comment line every KEEPALIVE_SECONDS keeps proxies from closing an
idle stream; each one re-checks the token and the membership, so a revoked
token or a removed member stops receiving. A version's stream ends once the
version is finished.

    retry: 3000
    id: 12
    event: open
    data: {"project": 4, "seq": 12}

    id: 13
    event: version
    data: {"project": 4, "version": 2, "status": "generating", "percent": 40, ...}

`Last-Event-ID` (sent by EventSource when it reconnects) resends every
version changed since that event number.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from django.http import Http404, HttpRequest, StreamingHttpResponse
from ninja import Header, Router

from projects.api import presenters
from projects.api.common import READ_ERRORS, ProjectId, VersionNumber
from projects.api.schemas import OpenEvent, VersionEvent
from projects.models import Version
from projects.services import access, live
from projects.services.progress import progress_for
from projects.services.tokens import api_token_is_active

router = Router()

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000
FINISHED = frozenset(Version.Status.finished())


class StreamEnded(Exception):
    """The caller lost access: the token was revoked or the membership removed."""


def _event(name: str, data: dict, *, event_id: int | None = None) -> bytes:
    lines = [] if event_id is None else [f"id: {event_id}"]
    lines += [f"event: {name}", f"data: {json.dumps(data, cls=DjangoJSONEncoder)}"]
    return ("\n".join(lines) + "\n\n").encode()


def _check_access(*, user: AbstractBaseUser, token_id: int, project_id: int):
    if not api_token_is_active(token_id):
        raise StreamEnded
    try:
        return access.project_for_user(user=user, project_id=project_id)
    except Http404 as error:
        raise StreamEnded from error


def _version_events(versions: list[Version], *, kind: str) -> list[tuple[bytes, bool]]:
    progress = progress_for(versions)
    return [
        (
            _event(
                "version",
                presenters.version_event(v, progress[v.pk], kind=kind),
                event_id=v.event_seq,
            ),
            v.status in FINISHED,
        )
        for v in versions
    ]


def _snapshot(
    *, user, token_id: int, project_id: int, version_id: int | None, since: int | None
) -> tuple[bytes, list[tuple[bytes, bool]]]:
    """The open event and the current state of what the stream follows."""
    project, _ = _check_access(user=user, token_id=token_id, project_id=project_id)
    versions = Version.objects.filter(project=project).order_by("number")
    if version_id is not None:
        versions = versions.filter(pk=version_id)
    elif since is not None:
        versions = versions.filter(event_seq__gt=since) | versions.filter(
            status__in=Version.Status.unfinished()
        )
    else:
        versions = versions.filter(status__in=Version.Status.unfinished())
    opened = _event(
        "open", {"project": project.pk, "seq": project.event_seq}, event_id=project.event_seq
    )
    return opened, _version_events(list(versions), kind="snapshot")


def _changed(
    *, user, token_id: int, project_id: int, version_id: int, kind: str
) -> list[tuple[bytes, bool]]:
    _check_access(user=user, token_id=token_id, project_id=project_id)
    versions = list(Version.objects.filter(pk=version_id, project_id=project_id))
    return _version_events(versions, kind=kind)


def _read(function):
    """Run a database read for the stream in a thread. A stream lasts as long
    as its reader stays, so its connection is given back after each read
    (per CONN_MAX_AGE, as at the end of a request) rather than held open."""

    def read(**kwargs):
        try:
            return function(**kwargs)
        finally:
            close_old_connections()

    return sync_to_async(read)


async def event_stream(
    *,
    user: AbstractBaseUser,
    token_id: int,
    project_id: int,
    version_id: int | None = None,
    since: int | None = None,
) -> AsyncIterator[bytes]:
    layer = get_channel_layer()
    channel = await layer.new_channel()
    group = live.project_group(project_id)
    # Subscribed before the snapshot is read, so nothing falls between them.
    await layer.group_add(group, channel)
    try:
        try:
            opened, events = await _read(_snapshot)(
                user=user,
                token_id=token_id,
                project_id=project_id,
                version_id=version_id,
                since=since,
            )
        except StreamEnded:
            return
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode() + opened
        for event, finished in events:
            yield event
            if version_id is not None and finished:
                return
        while True:
            try:
                message = await asyncio.wait_for(layer.receive(channel), KEEPALIVE_SECONDS)
            except TimeoutError:
                message = None
            try:
                if message is None:
                    if version_id is None:
                        await _read(_check_access)(
                            user=user, token_id=token_id, project_id=project_id
                        )
                        yield b": keep-alive\n\n"
                        continue
                    # The database is the truth: a missed event still ends
                    # a version's stream.
                    events = await _read(_changed)(
                        user=user,
                        token_id=token_id,
                        project_id=project_id,
                        version_id=version_id,
                        kind="state",
                    )
                    if not events:
                        return
                    event, finished = events[0]
                    if finished:
                        yield event
                        return
                    yield b": keep-alive\n\n"
                    continue
                if message.get("type") != "version.changed":
                    continue
                if version_id is not None and message["version_id"] != version_id:
                    continue
                events = await _read(_changed)(
                    user=user,
                    token_id=token_id,
                    project_id=project_id,
                    version_id=message["version_id"],
                    kind=message.get("kind", "state"),
                )
            except StreamEnded:
                return
            if version_id is not None and not events:
                return  # the version was deleted
            for event, finished in events:
                yield event
                if version_id is not None and finished:
                    return
    finally:
        await layer.group_discard(group, channel)


def _streaming(stream: AsyncIterator[bytes]) -> StreamingHttpResponse:
    response = StreamingHttpResponse(stream, content_type="text/event-stream; charset=utf-8")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


def _last_event_id(value: str | None) -> int | None:
    try:
        return max(int(value), 0) if value else None
    except ValueError:
        return None


def _inlined(schema: dict) -> dict:
    """A model's JSON schema with its $defs written in place, so it stands
    alone inside the OpenAPI document."""
    definitions = schema.pop("$defs", {})

    def inline(node):
        if isinstance(node, dict):
            if "$ref" in node:
                return inline(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: inline(value) for key, value in node.items()}
        if isinstance(node, list):
            return [inline(item) for item in node]
        return node

    return inline(schema)


def _sse_schema() -> dict:
    data = {
        "anyOf": [
            _inlined(OpenEvent.model_json_schema()),
            _inlined(VersionEvent.model_json_schema()),
        ],
    }
    event = {
        "type": "object",
        "required": ["data", "event"],
        "properties": {
            "event": {"type": "string", "enum": ["open", "version"]},
            "id": {"type": "string"},
            "retry": {"type": "integer"},
            "data": {
                "type": "string",
                "contentMediaType": "application/json",
                "contentSchema": data,
            },
        },
    }
    return {
        "responses": {
            "200": {
                "description": "A stream of server-sent events: `open` first, then a "
                "`version` event for each change (and a snapshot of the current state).",
                "content": {"text/event-stream": {"schema": event}},
            }
        }
    }


LAST_EVENT_ID = Header(
    None,
    alias="Last-Event-ID",
    description="Resend every version changed since this event number (EventSource sends it "
    "when it reconnects).",
    max_length=20,
)


@router.get(
    "/projects/{project_id}/events",
    response=READ_ERRORS,
    openapi_extra=_sse_schema(),
    tags=["events"],
)
async def project_events(
    request: HttpRequest,
    project_id: int = ProjectId,
    last_event_id: str | None = LAST_EVENT_ID,
):
    """Server-sent events for every version of the project: the unfinished
    ones at once, then each change as it happens. Never ends by itself."""
    user = request.auth
    project, _ = await sync_to_async(access.project_for_user)(user=user, project_id=project_id)
    return _streaming(
        event_stream(
            user=user,
            token_id=request.api_token.pk,
            project_id=project.pk,
            since=_last_event_id(last_event_id),
        )
    )


@router.get(
    "/projects/{project_id}/versions/{number}/events",
    response=READ_ERRORS,
    openapi_extra=_sse_schema(),
    tags=["events"],
)
async def version_events(
    request: HttpRequest, project_id: int = ProjectId, number: int = VersionNumber
):
    """Server-sent events for one version: its state now, then each change,
    ending once it is finished (ready, failed, blocked, cancelled or needing
    a decision)."""
    user = request.auth
    version, _ = await sync_to_async(access.version_for_user)(
        user=user, project_id=project_id, number=number
    )
    return _streaming(
        event_stream(
            user=user,
            token_id=request.api_token.pk,
            project_id=version.project_id,
            version_id=version.pk,
        )
    )
