"""Idempotent creation and the per-user generation limit.

A create request sent with an `Idempotency-Key` header is remembered with
its response: the same key and the same request again get the same response
(nothing is created twice); the same key with a different request is
refused. Only successful creations are remembered, so a request refused for
bad input can be corrected and sent again with its key.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone

from projects.api.errors import ApiError
from projects.models import IdempotencyRecord, Version
from projects.services.progress import progress_for

HEADER = "Idempotency-Key"
# Keys are remembered this long; older ones are forgotten (and may be reused).
RETENTION = timedelta(hours=24)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


@dataclass(frozen=True)
class Created:
    status: int
    body: dict
    object_id: int | None
    replayed: bool = False


def request_fingerprint(request: HttpRequest) -> str:
    """sha256 of the method, path and body. JSON bodies are compared by
    content (key order and spacing do not matter); multipart bodies by their
    fields and the names, sizes and digests of their files (the boundary
    differs from one attempt to the next)."""
    digest = hashlib.sha256()
    digest.update(f"{request.method}\n{request.path}\n".encode())
    if request.content_type == "multipart/form-data":
        files = []
        for name, uploads in sorted(request.FILES.lists()):
            for upload in uploads:
                file_digest = hashlib.sha256()
                for chunk in upload.chunks():
                    file_digest.update(chunk)
                upload.seek(0)
                files.append([name, upload.name, upload.size, file_digest.hexdigest()])
        canonical = {"fields": sorted(request.POST.lists()), "files": files}
        digest.update(json.dumps(canonical, sort_keys=True).encode())
    else:
        body = request.body
        try:
            digest.update(json.dumps(json.loads(body), sort_keys=True).encode())
        except ValueError:
            digest.update(body)
    return digest.hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not _KEY.match(key):
        raise ApiError(
            422,
            "validation_error",
            "An Idempotency-Key is 1 to 200 visible ASCII characters (a UUID, say).",
            field=HEADER,
        )
    return key


def create_once(
    request: HttpRequest,
    *,
    user: AbstractBaseUser,
    key: str | None,
    create: Callable[[], Created],
    before: Callable[[], None] | None = None,
) -> Created:
    """Run `create` once per key: `before` (a limit check) runs only when
    something is about to be created, not for a replay."""
    key = check_key(key)
    if key is None:
        with transaction.atomic():
            if before is not None:
                before()
            return create()
    fingerprint = request_fingerprint(request)
    with transaction.atomic():
        IdempotencyRecord.objects.filter(
            user=user, created_at__lt=timezone.now() - RETENTION
        ).delete()
        existing = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if existing is not None:
            return _replay(existing, fingerprint)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=user, key=key, fingerprint=fingerprint, response_status=0
                )
        except IntegrityError:
            # The same key in flight in another request, committed meanwhile.
            return _replay(IdempotencyRecord.objects.get(user=user, key=key), fingerprint)
        if before is not None:
            before()
        created = create()
        record.response_status = created.status
        record.response_body = created.body
        record.object_id = created.object_id
        record.save(update_fields=["response_status", "response_body", "object_id"])
    return created


def _replay(record: IdempotencyRecord, fingerprint: str) -> Created:
    if record.fingerprint != fingerprint:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was already used for a different request. "
            "Use a new key for a new request.",
            field=HEADER,
        )
    return Created(
        status=record.response_status,
        body=record.response_body,
        object_id=record.object_id,
        replayed=True,
    )


def check_generation_limit(user: AbstractBaseUser) -> None:
    """A user may have STUDIO_API_MAX_ACTIVE_GENERATIONS unfinished versions
    at once; one more is a 429 with a Retry-After from their estimates."""
    limit = settings.STUDIO_API_MAX_ACTIVE_GENERATIONS
    active = list(Version.objects.filter(author=user).unfinished()[: max(limit, 1)])
    if len(active) < limit:
        return
    estimates = [p.eta_seconds for p in progress_for(active).values() if p.eta_seconds is not None]
    retry_after = min(max(min(estimates, default=10), 1), 300)
    raise ApiError(
        429,
        "rate_limited",
        f"You have {len(active)} generations running, the most at once. "
        "Try again when one finishes.",
        headers={"Retry-After": str(retry_after)},
    )
