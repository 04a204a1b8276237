"""Progress as server-sent events, for scripts.

Each stream subscribes to this server's live hub (the same events the
browsers' websockets get), sends a snapshot from the database, then every
changed version's state: read from the database once per event for all the
project's streams on this server, not once per stream. A comment line every
KEEPALIVE_SECONDS keeps proxies from closing an idle stream and re-checks the
token and the membership; signing out, revoking the token or removing the
member ends the stream at once. A version's stream ends once the version is
finished.

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
import time
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import close_old_connections
from django.http import Http404, HttpRequest, StreamingHttpResponse
from ninja import Header, Router

from projects.api import presenters
from projects.api.common import READ_ERRORS, ProjectId, VersionNumber
from projects.api.schemas import OpenEvent, VersionEvent
from projects.live.fragments import Batch
from projects.live.hub import Subscriber, get_hub
from projects.models import Version
from projects.services import access
from projects.services.progress import progress_for
from projects.services.tokens import api_token_is_active

router = Router(tags=["events"])

KEEPALIVE_SECONDS = 15.0
RETRY_MILLISECONDS = 3000


class StreamEnded(Exception):
    """The caller lost access: the token was revoked or the membership removed."""


# What a stream's queue holds when the hub ends it.
_END = object()
# Batches a stream may have waiting before it counts as not keeping up.
STREAM_BACKLOG = 100


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


def _version_events(versions: list[Version], *, kind: str) -> list[dict]:
    progress = progress_for(versions)
    return [presenters.version_event(v, progress[v.pk], kind=kind) for v in versions]


def stream_payloads(batch: Batch, variants: set[str]) -> dict[str, list[dict]]:
    """A batch of events as every stream of the project sends them: each
    changed version's state, read once for all streams."""
    versions = list(Version.objects.filter(pk__in=batch.version_ids).order_by("number"))
    batch.as_announced(versions)
    kind = next(iter(batch.kinds)) if len(batch.kinds) == 1 else "state"
    events = _version_events(versions, kind=kind)
    sent_at = time.time()
    for event in events:
        event["sent_at"] = sent_at
    return {variant: events for variant in variants}


def _snapshot(
    *, user, token_id: int, project_id: int, version_id: int | None, since: int | None
) -> tuple[dict, list[dict]]:
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
    opened = {"project": project.pk, "seq": project.event_seq, "workspace": project.workspace_id}
    return opened, _version_events(list(versions[:500]), kind="snapshot")


def _current(*, user, token_id: int, project_id: int, version_id: int) -> list[dict]:
    _check_access(user=user, token_id=token_id, project_id=project_id)
    return _version_events(
        list(Version.objects.filter(pk=version_id, project_id=project_id)), kind="state"
    )


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


def _frame(data: dict) -> bytes:
    return _event("version", data, event_id=data["seq"])


async def event_stream(
    *,
    user: AbstractBaseUser,
    token_id: int,
    project_id: int,
    version_id: int | None = None,
    version_number: int | None = None,
    since: int | None = None,
) -> AsyncIterator[bytes]:
    try:
        opened, snapshot = await _read(_snapshot)(
            user=user, token_id=token_id, project_id=project_id, version_id=version_id, since=since
        )
    except StreamEnded:
        return
    queue: asyncio.Queue = asyncio.Queue(maxsize=STREAM_BACKLOG)

    async def deliver(events) -> None:
        try:
            queue.put_nowait(events)
        except asyncio.QueueFull as error:
            raise ConnectionError("the stream is not keeping up") from error

    async def end(code: int) -> None:
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_END)

    subscriber = Subscriber(
        project_id=project_id,
        workspace_id=opened.pop("workspace"),
        user_id=user.pk,
        variant="stream",
        deliver=deliver,
        end=end,
        renderer=stream_payloads,
        token_id=token_id,
        shows_presence=False,
    )
    hub = get_hub()
    # Subscribed before the snapshot is sent, so nothing falls between them.
    await hub.join(subscriber, seq=opened["seq"])
    try:
        yield f"retry: {RETRY_MILLISECONDS}\n\n".encode() + _event(
            "open", opened, event_id=opened["seq"]
        )
        for data in snapshot:
            yield _frame(data)
            if version_id is not None and data["finished"]:
                return
        while True:
            try:
                events = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
            except TimeoutError:
                try:
                    if version_id is None:
                        await _read(_check_access)(
                            user=user, token_id=token_id, project_id=project_id
                        )
                        yield b": keep-alive\n\n"
                        continue
                    # The database is the truth: a missed event still ends a
                    # version's stream.
                    current = await _read(_current)(
                        user=user, token_id=token_id, project_id=project_id, version_id=version_id
                    )
                except StreamEnded:
                    return
                if not current:
                    return
                if current[0]["finished"]:
                    yield _frame(current[0])
                    return
                yield b": keep-alive\n\n"
                continue
            if events is _END:
                return
            for data in events:
                if version_number is not None and data["version"] != version_number:
                    continue
                yield _frame(data)
                if version_id is not None and data["finished"]:
                    return
    finally:
        await hub.leave(subscriber)


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


# Both streams answer as READ_ERRORS says, and document their events.
STREAM = {"response": READ_ERRORS, "openapi_extra": _sse_schema()}


@router.get("/projects/{project_id}/events", **STREAM)
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


@router.get("/projects/{project_id}/versions/{number}/events", **STREAM)
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
            version_number=version.number,
        )
    )
