"""/healthz for load balancers and monitors: the database, the channel layer
and media storage each answer, or the studio is not healthy (503)."""

from __future__ import annotations

import asyncio

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.contrib.auth.decorators import login_not_required
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

PROBE_SECONDS = 3


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


async def _round_trip() -> None:
    layer = get_channel_layer()
    channel = await layer.new_channel(prefix="healthz")
    await layer.send(channel, {"type": "healthz"})
    await asyncio.wait_for(layer.receive(channel), PROBE_SECONDS)


def _channel_layer() -> None:
    async_to_sync(_round_trip)()


def _storage() -> None:
    # A question the storage must answer (a HEAD on a bucket, a stat on disk).
    default_storage.exists("healthz-probe")


CHECKS = {"database": _database, "channel_layer": _channel_layer, "storage": _storage}


@login_not_required
@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception as error:  # a probe reports any failure, it never raises
            report[name] = f"failing: {type(error).__name__}"
        else:
            report[name] = "ok"
    healthy = all(value == "ok" for value in report.values())
    return JsonResponse({"healthy": healthy, **report}, status=200 if healthy else 503)
