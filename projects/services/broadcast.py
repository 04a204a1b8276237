"""Broadcast: live events, numbered per project and sent after the
transaction that made them commits, to one Channels group per project and
one per user. The socket
is a cache of the database, never the truth: a page that missed an event
asks for everything since the last number it saw.

Presence (who has a project open) is written by each server's live hub in
batches, one row per server, project and user, refreshed while they stay.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from projects.models import Presence, Project, Version

logger = logging.getLogger(__name__)

# A server that stops refreshing its presence rows for this long is gone.
PRESENCE_TIMEOUT = timedelta(seconds=90)


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def record_event(version: Version, *, kind: str) -> None:
    """Number the change and send it once it is committed."""
    with transaction.atomic():
        seq = _next_event_number(version.project_id)
        numbers = {"event_seq": seq, **({"created_seq": seq} if kind == "created" else {})}
        Version.objects.filter(pk=version.pk).update(**numbers)
        for name, value in numbers.items():
            setattr(version, name, value)
        message = {
            "type": "version.changed",
            "project_id": version.project_id,
            "version_id": version.pk,
            "parent_id": version.parent_id,
            "kind": kind,
            "seq": seq,
            # The state this event announces: by the time it is shown the
            # version may have moved on, and every state is shown in turn.
            "state": {
                "status": version.status,
                "progress": version.progress,
                "error_kind": version.error_kind,
                "error_message": version.error_message,
                "retry_at": version.retry_at.isoformat() if version.retry_at else None,
            },
        }
        send_on_commit(project_group(version.project_id), message)


def _next_event_number(project_id: int) -> int:
    """The project's next event number, taken in one statement (RETURNING,
    on SQLite and PostgreSQL alike): every state change of every version
    takes one, so it is worth a query less."""
    quote = connection.ops.quote_name
    table, column = quote(Project._meta.db_table), quote("event_seq")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + 1 WHERE {quote('id')} = %s "
            f"RETURNING {column}",
            [project_id],
        )
        return cursor.fetchone()[0]


def send_on_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: send(group, message))


# A worker thread sends through one event loop kept for its process: called
# from a thread with no loop, async_to_sync would make a new loop for every
# event, and a Redis layer a new connection pool for every loop.
_sending = threading.local()
_loop_lock = threading.Lock()
_process_loop: asyncio.AbstractEventLoop | None = None
SEND_TIMEOUT_SECONDS = 10


def send_through_one_loop() -> None:
    """From now on this thread's events go out through the process's one
    sending loop (for worker threads, which send many)."""
    global _process_loop
    with _loop_lock:
        if _process_loop is None or _process_loop.is_closed():
            _process_loop = asyncio.new_event_loop()
            threading.Thread(
                target=_process_loop.run_forever, name="studio-event-sender", daemon=True
            ).start()
    _sending.loop = _process_loop


def send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        loop = getattr(_sending, "loop", None)
        if loop is None:
            async_to_sync(layer.group_send)(group, message)
        else:
            sent = asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop)
            try:
                sent.result(timeout=SEND_TIMEOUT_SECONDS)
            except TimeoutError:
                sent.cancel()  # not left running on the shared loop
                raise
    except Exception:
        # The socket is a cache of the database: a lost event is recovered by
        # the event numbers (heartbeats, catch-up) or by polling, never by
        # failing the work.
        logger.warning("Could not send %s to %s", message.get("type"), group, exc_info=True)


def sequence_changed(*, project_id: int, sequence_id: int) -> None:
    """A render of the sequence was queued, moved on, or finished: its open
    pages fetch their renders again (each with its own role and CSRF token)."""
    send_on_commit(
        project_group(project_id),
        {"type": "sequence.changed", "project_id": project_id, "sequence_id": sequence_id},
    )


def session_ended(*, user_id: int) -> None:
    """The user signed out: every page and event stream of theirs closes."""
    send(user_group(user_id), {"type": "session.ended", "user_id": user_id})


def latest_event_numbers(project_ids: Iterable[int]) -> dict[int, int]:
    return dict(Project.objects.filter(pk__in=list(project_ids)).values_list("pk", "event_seq"))


# Presence.


def presence_key(*, server: str, project_id: int, user_id: int) -> str:
    return f"{server}:{project_id}:{user_id}"


def presence_write(*, server: str, project_id: int, user_ids: Iterable[int]) -> bool:
    """Make the server's presence rows for a project the given users; True
    when that changed who is there."""
    wanted = {presence_key(server=server, project_id=project_id, user_id=u): u for u in user_ids}
    now = timezone.now()
    with transaction.atomic():
        rows = Presence.objects.filter(project_id=project_id, channel_name__startswith=f"{server}:")
        have = set(rows.values_list("channel_name", flat=True))
        gone = have - wanted.keys()
        if gone:
            Presence.objects.filter(channel_name__in=gone).delete()
        new = wanted.keys() - have
        Presence.objects.bulk_create(
            [
                Presence(project_id=project_id, user_id=wanted[key], channel_name=key, seen_at=now)
                for key in new
            ],
            ignore_conflicts=True,
        )
    return bool(gone or new)


def presence_refresh(*, server: str) -> None:
    """Still here: the server's rows stay fresh."""
    Presence.objects.filter(channel_name__startswith=f"{server}:").update(seen_at=timezone.now())


def presence_forget(*, server: str) -> None:
    Presence.objects.filter(channel_name__startswith=f"{server}:").delete()


@dataclass(frozen=True)
class Viewers:
    """Who has a project open: the first few by name, and how many in all."""

    named: list
    count: int

    @property
    def others(self) -> int:
        return self.count - len(self.named)


VIEWERS_NAMED = 12


def viewers(project: Project | int) -> Viewers:
    project_id = project if isinstance(project, int) else project.pk
    user_ids = set(
        Presence.objects.filter(
            project_id=project_id, seen_at__gte=timezone.now() - PRESENCE_TIMEOUT
        ).values_list("user_id", flat=True)
    )
    named = list(
        get_user_model().objects.filter(pk__in=user_ids).order_by("username")[:VIEWERS_NAMED]
    )
    return Viewers(named=named, count=len(user_ids))


def presence_changed(project_id: int) -> None:
    send(project_group(project_id), {"type": "presence.changed", "project_id": project_id})
