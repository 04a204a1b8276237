"""The project's live channel: a cache of the database, never the truth.

On connect (and reconnect) a browser gets every unfinished version and
everything changed since the event number it last saw; each later event
re-renders the changed version from the database for this member.
"""

from __future__ import annotations

import json
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.http import Http404

from projects.services import access, live
from projects.views.live import render_updates


class ProjectConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.project_id = self.scope["url_route"]["kwargs"]["project_id"]
        try:
            project, _ = await database_sync_to_async(access.project_for_user)(
                user=user, project_id=self.project_id
            )
        except Http404:
            await self.close(code=4404)
            return
        self.workspace_id = project.workspace_id
        self.joined = [live.project_group(self.project_id), live.user_group(user.pk)]
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await database_sync_to_async(live.presence_join)(
            project_id=self.project_id, user=user, channel_name=self.channel_name
        )
        query = parse_qs(self.scope.get("query_string", b"").decode())
        await self.send_updates(since=_int(query.get("since", ["0"])[0]))

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)
        if getattr(self, "joined", None):
            await database_sync_to_async(live.presence_leave)(channel_name=self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        # The page asks again when it sees a gap in the event numbers.
        try:
            message = json.loads(text_data or "{}")
        except json.JSONDecodeError:
            return
        if not isinstance(message, dict):
            return
        if "heartbeat" in message:
            await database_sync_to_async(live.presence_heartbeat)(channel_name=self.channel_name)
        if "since" in message:
            await self.send_updates(since=_int(message["since"]))

    async def version_changed(self, event: dict) -> None:
        await self.send_updates(
            version_ids=[event["version_id"]], kind=event.get("kind", "state"), seq=event["seq"]
        )

    async def project_changed(self, event: dict) -> None:
        await self.send_updates(kind=event["kind"])

    async def session_ended(self, event: dict) -> None:
        await self.close(code=4401)

    async def membership_revoked(self, event: dict) -> None:
        if event["workspace_id"] == self.workspace_id:
            await self.close(code=4403)

    async def send_updates(
        self, *, since: int | None = None, version_ids=(), kind="state", seq=None
    ) -> None:
        html = await database_sync_to_async(self._render)(since, version_ids, kind, seq)
        if html is None:
            await self.close(code=4403)
        else:
            await self.send(text_data=html)

    def _render(self, since, version_ids, kind, seq) -> str | None:
        # Membership is checked again for every message: a member who left
        # the workspace gets nothing more.
        try:
            project, membership = access.project_for_user(
                user=self.scope["user"], project_id=self.project_id
            )
        except Http404:
            return None
        return render_updates(
            project=project,
            membership=membership,
            since=since,
            version_ids=version_ids,
            kind=kind,
            seq=seq,
        )


def _int(value) -> int:
    try:
        return max(int(value), 0)
    except (TypeError, ValueError):
        return 0
