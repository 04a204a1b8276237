"""Live events: numbered per project and sent after the transaction that made
them commits, to one Channels group per project (and one per user, to close
a user's sockets). The socket is a cache of the database, never the truth;
presence is who has the project open."""

from __future__ import annotations

import logging
from datetime import timedelta

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from projects.models import Presence, Project, Version

logger = logging.getLogger(__name__)

PRESENCE_TIMEOUT = timedelta(seconds=90)


def project_group(project_id: int) -> str:
    return f"project.{project_id}"


def user_group(user_id: int) -> str:
    return f"user.{user_id}"


def record_event(version: Version, *, kind: str) -> None:
    """Number the change and send it once it is committed."""
    with transaction.atomic():
        Project.objects.filter(pk=version.project_id).update(event_seq=F("event_seq") + 1)
        seq = Project.objects.values_list("event_seq", flat=True).get(pk=version.project_id)
        Version.objects.filter(pk=version.pk).update(event_seq=seq)
        version.event_seq = seq
        message = {
            "type": "version.changed",
            "version_id": version.pk,
            "kind": kind,
            "seq": seq,
        }
        project_id = version.project_id
        transaction.on_commit(lambda: send(project_group(project_id), message))


def project_event(project_id: int, *, kind: str) -> None:
    """A change that belongs to no single version (presence)."""
    message = {"type": "project.changed", "kind": kind}
    transaction.on_commit(lambda: send(project_group(project_id), message))


def send_on_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: send(group, message))


def send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # The socket is a cache of the database: a lost event is recovered by
        # the snapshot on reconnect or by polling, never by failing the work.
        logger.warning("Could not send %s to %s", message.get("type"), group, exc_info=True)


def session_ended(*, user_id: int) -> None:
    send(user_group(user_id), {"type": "session.ended"})


# Presence: who has the project open.


def presence_join(*, project_id: int, user, channel_name: str) -> None:
    with transaction.atomic():
        Presence.objects.update_or_create(
            channel_name=channel_name,
            defaults={"project_id": project_id, "user": user, "seen_at": timezone.now()},
        )
        project_event(project_id, kind="presence")


def presence_leave(*, channel_name: str) -> None:
    with transaction.atomic():
        presence = Presence.objects.filter(channel_name=channel_name).first()
        if presence is not None:
            presence.delete()
            project_event(presence.project_id, kind="presence")


def presence_heartbeat(*, channel_name: str) -> None:
    Presence.objects.filter(channel_name=channel_name).update(seen_at=timezone.now())


def viewers(project: Project) -> list:
    rows = (
        Presence.objects.filter(project=project, seen_at__gte=timezone.now() - PRESENCE_TIMEOUT)
        .select_related("user")
        .order_by("user__username")
    )
    seen, people = set(), []
    for row in rows:
        if row.user_id not in seen:
            seen.add(row.user_id)
            people.append(row.user)
    return people
