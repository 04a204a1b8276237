"""The project page's websocket.

Membership is checked before the socket is accepted; then the page subscribes
to this server's live hub, which sends it each event's fragment (rendered
once for everyone of its role) and a heartbeat with the latest event number.
The page asks for what it missed (``{"since": n}``) when it sees a gap.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from projects.live.fragments import render_catch_up, render_inbox_link
from projects.live.hub import Subscriber, get_hub
from projects.models import Membership, Project
from projects.services import access, broadcast, sequences

logger = logging.getLogger(__name__)

# Close codes the page understands.
SIGNED_OUT = 4401
NOT_A_MEMBER = 4403
NO_SUCH_PROJECT = 4404
TRY_AGAIN = 1013
ROLE_CHANGED = 4000


class ProjectConsumer(AsyncWebsocketConsumer):
    # The hub listens to the channel layer for every page on this server; a
    # page needs no channel of its own.
    channel_layer_alias = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=SIGNED_OUT)
            return
        try:
            self.project, membership = await database_sync_to_async(self._find)(user)
        except Http404:
            await self.close(code=NO_SUCH_PROJECT)
            return
        query = parse_qs(self.scope.get("query_string", b"").decode())
        # A page sends the number it last saw once the socket is open; a
        # client may give it in the URL instead.
        since = _number(query["since"][0]) if "since" in query else None
        await self.accept()
        self.subscriber = self._subscriber(user, membership)
        # The project was read just now: its number is where a hub opening
        # the project's room starts relaying, and what the page hears first.
        try:
            await get_hub().join(self.subscriber, seq=self.project.event_seq)
            # A removal or a new role committed while the hub was joining the
            # user's group was told to nobody: read the role again now.
            role = await database_sync_to_async(_role_now)(user, self.project.workspace_id)
            if role != membership.role:
                await get_hub().leave(self.subscriber)
                await self.close(code=NOT_A_MEMBER if role is None else ROLE_CHANGED)
                return
            await self._opened(user, since)
        except Exception:
            # An open socket that hears nothing is worse than a closed one:
            # the page reconnects, or polls meanwhile.
            logger.warning("A live page could not join its project", exc_info=True)
            await self.close(code=TRY_AGAIN)

    def _find(self, user) -> tuple[Project, Membership]:
        project_id = self.scope["url_route"]["kwargs"]["project_id"]
        return access.project_for_user(user=user, project_id=project_id)

    def _subscriber(self, user, membership: Membership) -> Subscriber:
        return Subscriber(
            project_id=self.project.pk,
            workspace_id=self.project.workspace_id,
            user_id=user.pk,
            variant=membership.role,
            deliver=self._deliver,
            end=self._end,
        )

    async def _opened(self, user, since: int | None) -> None:
        await self._catch_up(since, seq=self.project.event_seq)
        # The header's unread count, left out of the page's own render.
        await self.send(text_data=await database_sync_to_async(render_inbox_link)(user.pk))

    async def disconnect(self, code: int) -> None:
        subscriber = getattr(self, "subscriber", None)
        if subscriber is not None:
            await get_hub().leave(subscriber)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "{}")
        except json.JSONDecodeError:
            return
        if isinstance(message, dict) and "since" in message:
            await self._catch_up(_number(message["since"]))

    async def _catch_up(self, since: int | None, *, seq: int | None = None) -> None:
        """Tell the page the latest event number, and send what changed since
        the one it saw (nothing, for a page just loaded)."""
        if seq is None:
            latest = await database_sync_to_async(broadcast.latest_event_numbers)([self.project.pk])
            seq = latest.get(self.project.pk, 0)
        if since is not None and since < seq:
            html = await database_sync_to_async(render_catch_up)(
                self.project, self.subscriber.variant, since=since
            )
            await self.send(text_data=html)
        await self.send(text_data=json.dumps({"heartbeat": seq}))

    async def _deliver(self, payload) -> None:
        if isinstance(payload, str):
            await self.send(text_data=payload)
        else:
            await self.send(text_data=json.dumps(payload))

    async def _end(self, code: int) -> None:
        await self.close(code=code)


class SequenceConsumer(ProjectConsumer):
    """A sequence page's websocket: told when a render of its sequence is
    queued, moves on, is ready or failed, and then the page fetches its
    renders, whose forms carry the viewer's own role and CSRF token. It
    hears heartbeats, never the project's version events."""

    def _find(self, user) -> tuple[Project, Membership]:
        kwargs = self.scope["url_route"]["kwargs"]
        sequence, membership = sequences.sequence_for_user(
            user=user, project_id=kwargs["project_id"], sequence_id=kwargs["sequence_id"]
        )
        self.sequence_id = sequence.pk
        return sequence.project, membership

    def _subscriber(self, user, membership: Membership) -> Subscriber:
        return replace(
            super()._subscriber(user, membership),
            renderer=None,
            shows_presence=False,
            sequence_id=self.sequence_id,
        )

    async def _opened(self, user, since: int | None) -> None:
        await self.send(text_data=json.dumps({"heartbeat": self.project.event_seq}))

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # nothing to ask: the page fetches its renders itself


def _role_now(user, workspace_id: int) -> str | None:
    try:
        return access.membership_for(user=user, workspace_id=workspace_id).role
    except Http404:
        return None


def _number(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
