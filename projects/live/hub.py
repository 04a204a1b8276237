"""Each server's live hub: render an event once, deliver it to every open page
and event stream, never go silent.

One hub per event loop (per ASGI server process) holds one channel of the
channel layer, added to the group of every project that has a page or stream
open here and to the group of every user with one. Pages and streams
subscribe to the hub, not to the layer, so an event crosses the layer once
per server, is rendered once per server for each role present (pages) and
once for all streams, and the same bytes go to every subscriber.

Events that arrive while a render is running are coalesced into the next
one. Every ``HEARTBEAT_SECONDS`` the hub re-joins its groups (a layer drops
memberships it thinks stale), reads the projects' latest event numbers and,
when an event has still not arrived a heartbeat later, sends what changed
since the last one it delivered; then it tells every page the latest number, so a page that missed
anything asks for it. Presence is written at most once every
``PRESENCE_SECONDS`` per project, and announced in one small message.
A sequence page subscribes with no renderer: it is told only that its
sequence's renders changed, and fetches them itself.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from projects.live.fragments import (
    Batch,
    render_batch,
    render_catch_up,
    render_inbox_link,
    render_presence,
)
from projects.models import Project, Version
from projects.services import broadcast

logger = logging.getLogger(__name__)

# What renders a batch for one kind of subscriber: called once per batch with
# the variants present (roles for pages), in a thread; returns each
# variant's payload.
Renderer = Callable[[Batch, set[str]], dict[str, object]]

# Group joins and leaves this hub has in flight at once. A burst of pages
# connecting would otherwise ask a Redis layer for more connections than its
# pool holds (a hundred), and the joins past that fail.
LAYER_CALLS_AT_ONCE = 32


@dataclass(eq=False)
class Subscriber:
    """An open page or event stream on this server."""

    project_id: int
    workspace_id: int
    user_id: int
    variant: str  # a page's role; "stream" for event streams
    deliver: Callable[[object], Awaitable[None]]
    end: Callable[[int], Awaitable[None]]
    # None for a page told only of its sequence's renders (it fetches them).
    renderer: Renderer | None = render_batch
    token_id: int | None = None
    shows_presence: bool = True
    sequence_id: int | None = None


@dataclass
class _ProjectRoom:
    subscribers: set[Subscriber] = field(default_factory=set)
    # Batches waiting to be delivered, in order; the last one gathers events.
    pending: list[Batch] = field(default_factory=list)
    delivering: asyncio.Task | None = None
    relayed_seq: int = 0
    # The latest number the previous heartbeat read while this room was
    # behind it: an event still behind a whole heartbeat later is lost, not
    # merely in transit.
    behind_at_last_beat: int = 0
    presence_dirty: bool = False
    presence_announced: float = 0.0


class LiveHub:
    def __init__(self) -> None:
        self.layer = get_channel_layer()
        self.server = uuid.uuid4().hex[:12]
        self.channel: str | None = None
        self.rooms: dict[int, _ProjectRoom] = {}
        self.users: dict[int, set[Subscriber]] = {}
        self._tasks: list[asyncio.Task] = []
        self._presence_wanted = asyncio.Event()
        self._layer_slots = asyncio.Semaphore(LAYER_CALLS_AT_ONCE)
        self.renders = 0  # batches rendered, for tests and benchmarks

    # Subscribing.

    async def join(self, subscriber: Subscriber, *, seq: int) -> None:
        await self._start()
        room = self.rooms.get(subscriber.project_id)
        if room is None:
            room = self.rooms[subscriber.project_id] = _ProjectRoom(relayed_seq=seq)
            await self._group_add(broadcast.project_group(subscriber.project_id))
        room.subscribers.add(subscriber)
        if subscriber.user_id not in self.users:
            self.users[subscriber.user_id] = set()
            await self._group_add(broadcast.user_group(subscriber.user_id))
        self.users[subscriber.user_id].add(subscriber)
        if subscriber.shows_presence:
            self._presence_changed(room)

    async def leave(self, subscriber: Subscriber) -> None:
        room = self.rooms.get(subscriber.project_id)
        if room is not None and subscriber in room.subscribers:
            room.subscribers.discard(subscriber)
            if subscriber.shows_presence:
                self._presence_changed(room)
        mine = self.users.get(subscriber.user_id)
        if mine is not None:
            mine.discard(subscriber)
            if not mine:
                del self.users[subscriber.user_id]
                await self._discard(broadcast.user_group(subscriber.user_id))

    def subscribers(self, project_id: int) -> set[Subscriber]:
        room = self.rooms.get(project_id)
        return set(room.subscribers) if room else set()

    # The hub's own work.

    async def _start(self) -> None:
        if self.channel is None:
            self.channel = await self.layer.new_channel(prefix="hub")
        if not self._tasks:
            self._tasks = [
                asyncio.create_task(self._receive(), name="live-hub-receive"),
                asyncio.create_task(self._heartbeat(), name="live-hub-heartbeat"),
                asyncio.create_task(self._presence(), name="live-hub-presence"),
            ]

    async def _group_add(self, group: str) -> None:
        async with self._layer_slots:
            await self.layer.group_add(group, self.channel)

    async def _discard(self, group: str) -> None:
        try:
            async with self._layer_slots:
                await self.layer.group_discard(group, self.channel)
        except Exception:
            logger.warning("Could not leave %s", group, exc_info=True)

    async def _receive(self) -> None:
        while True:
            try:
                message = await self.layer.receive(self.channel)
            except asyncio.CancelledError:
                raise
            except Exception:
                # A layer outage: wait and listen again; heartbeats catch up.
                logger.warning("The live hub could not receive", exc_info=True)
                await asyncio.sleep(1)
                continue
            try:
                await self._dispatch(message)
            except Exception:
                logger.exception("The live hub could not handle %s", message.get("type"))

    async def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        if kind == "version.changed":
            room = self.rooms.get(message["project_id"])
            if room is not None:
                self._queue(message["project_id"], room, message)
        elif kind == "sequence.changed":
            room = self.rooms.get(message["project_id"])
            if room is not None:
                told = {"sequence_changed": message["sequence_id"]}
                await self._send_all(
                    (s, told) for s in room.subscribers if s.sequence_id == message["sequence_id"]
                )
        elif kind == "presence.changed":
            await self._deliver_presence(message["project_id"])
        elif kind == "inbox.changed":
            await self._deliver_inbox(message["user_id"])
        elif kind == "session.ended":
            await self._end(self.users.get(message["user_id"], ()), code=4401)
        elif kind == "membership.revoked":
            ending = [
                s
                for s in self.users.get(message["user_id"], ())
                if s.workspace_id == message["workspace_id"]
            ]
            await self._end(ending, code=4403)
        elif kind == "membership.changed":
            changing = [
                s
                for s in self.users.get(message["user_id"], ())
                if s.workspace_id == message["workspace_id"] and s.variant != "stream"
            ]
            # The page's controls follow the role: it reloads.
            await self._end(changing, code=4000)
        elif kind == "token.revoked":
            ending = [
                s
                for s in self.users.get(message["user_id"], ())
                if s.token_id == message["token_id"]
            ]
            await self._end(ending, code=4401)

    async def _end(self, subscribers, *, code: int) -> None:
        for subscriber in list(subscribers):
            await self.leave(subscriber)
            try:
                await subscriber.end(code)
            except Exception:
                logger.debug("Could not end a live subscriber", exc_info=True)

    # Delivering events.

    def _queue(self, project_id: int, room: _ProjectRoom, event: dict) -> None:
        if event.get("seq", 0) <= room.relayed_seq and not room.pending:
            return  # already delivered (a catch-up got there first)
        if not room.pending or not room.pending[-1].accepts(event):
            room.pending.append(Batch(project_id=project_id))
        room.pending[-1].add(event)
        if room.delivering is None or room.delivering.done():
            room.delivering = asyncio.create_task(self._deliver_pending(room))

    async def _deliver_pending(self, room: _ProjectRoom) -> None:
        while room.pending:
            batch = room.pending.pop(0)
            await self._deliver_batch(room, batch)
            room.relayed_seq = max(room.relayed_seq, batch.last_seq)

    async def _deliver_batch(self, room: _ProjectRoom, batch: Batch) -> None:
        by_renderer: dict[Renderer, set[Subscriber]] = {}
        for subscriber in room.subscribers:
            if subscriber.renderer is not None:
                by_renderer.setdefault(subscriber.renderer, set()).add(subscriber)
        for renderer, subscribers in by_renderer.items():
            variants = {s.variant for s in subscribers}
            try:
                payloads = await database_sync_to_async(renderer)(batch, variants)
            except Exception:
                logger.exception("Could not render live events of project %s", batch.project_id)
                continue
            self.renders += 1
            await self._send_all(
                (s, payloads[s.variant]) for s in subscribers if s.variant in payloads
            )

    async def _send_all(self, deliveries) -> None:
        """The same payload to many subscribers; one that cannot take it
        within the timeout is dropped (its page reconnects and catches up).

        Each send starts at once and most finish there (a websocket send
        only queues bytes on the socket's transport), with no timer; only a
        send that has to wait is waited for, all of those together."""
        deliveries = list(deliveries)  # the subscribers may change meanwhile
        waiting: dict[asyncio.Task, Subscriber] = {}
        dropped = []
        loop = asyncio.get_running_loop()
        for subscriber, payload in deliveries:
            task = asyncio.Task(subscriber.deliver(payload), loop=loop, eager_start=True)
            if not task.done():
                waiting[task] = subscriber
            elif task.cancelled() or task.exception() is not None:
                dropped.append(subscriber)
        if waiting:
            _, late = await asyncio.wait(waiting, timeout=settings.STUDIO_LIVE_SEND_TIMEOUT_SECONDS)
            for task in late:
                task.cancel()
            dropped += [
                waiting[task]
                for task in waiting
                if task in late or task.cancelled() or task.exception() is not None
            ]
        if dropped:
            await self._end(dropped, code=4408)

    # Heartbeats: never silent.

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(settings.STUDIO_LIVE_HEARTBEAT_SECONDS)
            try:
                await self._beat()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("A live heartbeat failed", exc_info=True)

    async def _beat(self) -> None:
        if not self.rooms:
            return
        for project_id in list(self.rooms):
            await self._group_add(broadcast.project_group(project_id))
        for user_id in list(self.users):
            await self._group_add(broadcast.user_group(user_id))
        latest = await database_sync_to_async(self._read_latest)(list(self.rooms))
        for project_id, seq in latest.items():
            room = self.rooms.get(project_id)
            if room is None:
                continue
            idle = not room.pending and not _busy(room)
            if idle and room.relayed_seq < room.behind_at_last_beat:
                # An event never reached this server: send what it missed.
                await self._catch_up(project_id, room, seq)
            room.behind_at_last_beat = seq if seq > room.relayed_seq else 0
            await self._send_all(
                (s, {"heartbeat": seq}) for s in room.subscribers if s.variant != "stream"
            )

    def _read_latest(self, project_ids: list[int]) -> dict[int, int]:
        broadcast.presence_refresh(server=self.server)
        return broadcast.latest_event_numbers(project_ids)

    async def _catch_up(self, project_id: int, room: _ProjectRoom, seq: int) -> None:
        since = room.relayed_seq
        pages = [s for s in room.subscribers if s.renderer is render_batch]
        roles = {s.variant for s in pages}
        rendered = await database_sync_to_async(_render_catch_ups)(project_id, roles, since)
        self.renders += 1
        room.relayed_seq = max(room.relayed_seq, seq)
        await self._send_all((s, rendered[s.variant]) for s in pages)
        streams = [s for s in room.subscribers if s.renderer not in (render_batch, None)]
        if streams:
            batch = await database_sync_to_async(_changed_batch)(project_id, since, seq)
            if batch.version_ids:
                await self._deliver_batch(_ProjectRoom(subscribers=set(streams)), batch)

    # Presence: coalesced.

    def _presence_changed(self, room: _ProjectRoom) -> None:
        room.presence_dirty = True
        self._presence_wanted.set()

    async def _presence(self) -> None:
        while True:
            await self._presence_wanted.wait()
            self._presence_wanted.clear()
            await asyncio.sleep(settings.STUDIO_LIVE_PRESENCE_SECONDS)
            dirty = {pid: room for pid, room in self.rooms.items() if room.presence_dirty}
            for room in dirty.values():
                room.presence_dirty = False
            try:
                changed = await database_sync_to_async(self._write_presence)(dirty)
            except Exception:
                logger.warning("Could not write presence", exc_info=True)
                continue
            for project_id in changed:
                await database_sync_to_async(broadcast.presence_changed)(project_id)
            for project_id, room in dirty.items():
                if not room.subscribers and not room.pending and not _busy(room):
                    del self.rooms[project_id]
                    await self._discard(broadcast.project_group(project_id))
            if not self.rooms and not self.users:
                self._stop()
                return

    def _write_presence(self, rooms: dict[int, _ProjectRoom]) -> list[int]:
        changed = []
        for project_id, room in rooms.items():
            users = {s.user_id for s in room.subscribers if s.shows_presence}
            if broadcast.presence_write(server=self.server, project_id=project_id, user_ids=users):
                changed.append(project_id)
        return changed

    async def _deliver_presence(self, project_id: int) -> None:
        room = self.rooms.get(project_id)
        if room is None:
            return
        pages = [s for s in room.subscribers if s.renderer is render_batch]
        if not pages:
            return
        html = await database_sync_to_async(render_presence)(project_id)
        self.renders += 1
        await self._send_all((s, html) for s in pages)

    async def _deliver_inbox(self, user_id: int) -> None:
        """The user's unread count changed: their open pages' header."""
        pages = [s for s in self.users.get(user_id, ()) if s.renderer is render_batch]
        if not pages:
            return
        html = await database_sync_to_async(render_inbox_link)(user_id)
        self.renders += 1
        await self._send_all((s, html) for s in pages)

    async def close(self) -> None:
        """Stop listening (the server is stopping): pages reconnect elsewhere."""
        tasks = list(self._tasks)
        self._stop()
        # A receive cancelled mid-read still holds the layer's locks until it
        # has unwound: let it, before the loop goes away.
        await asyncio.gather(*tasks, return_exceptions=True)
        self.rooms.clear()
        self.users.clear()
        await database_sync_to_async(broadcast.presence_forget)(server=self.server)

    def _stop(self) -> None:
        current = asyncio.current_task()
        for task in self._tasks:
            if task is not current:
                task.cancel()
        self._tasks = []


def _busy(room: _ProjectRoom) -> bool:
    return room.delivering is not None and not room.delivering.done()


def _render_catch_ups(project_id: int, roles: set[str], since: int) -> dict[str, str]:
    project = Project.objects.get(pk=project_id)
    return {role: render_catch_up(project, role, since=since) for role in roles}


def _changed_batch(project_id: int, since: int, seq: int) -> Batch:
    batch = Batch(project_id=project_id, first_seq=since + 1, last_seq=seq)
    batch.version_ids = set(
        Version.objects.filter(project_id=project_id, event_seq__gt=since).values_list(
            "pk", flat=True
        )[:500]
    )
    batch.kinds = {"state"}
    return batch


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, LiveHub] = weakref.WeakKeyDictionary()


def get_hub() -> LiveHub:
    """This event loop's hub."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = LiveHub()
    return hub
