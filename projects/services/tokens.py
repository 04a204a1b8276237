"""API tokens: created and revoked by their user, stored as a digest only,
and checked on every request (projects.api.tokens reads the header)."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404
from django.utils import timezone

from projects.models import ApiToken
from projects.services.broadcast import send_on_commit, user_group
from projects.services.errors import StudioError

TOKEN_PREFIX = "omni_"
# Showing this much of a token tells a person's tokens apart and gives
# nothing useful away.
DISPLAY_CHARS = 12
# last_used_at is written at most this often per token, not on every request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def api_token_create(*, user: AbstractBaseUser, name: str) -> tuple[ApiToken, str]:
    """A new token for the user. The token itself is returned once; only its
    digest is stored."""
    name = " ".join(name.split())
    if not name:
        raise StudioError(
            "Name the token, for example after the script that uses it.", field="name"
        )
    if len(name) > 100:
        raise StudioError("Keep the name under 100 characters.", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    api_token = ApiToken.objects.create(
        user=user, name=name, token_digest=token_digest(token), prefix=token[:DISPLAY_CHARS]
    )
    return api_token, token


def api_token_revoke(*, user: AbstractBaseUser, token_id: int) -> ApiToken:
    """Revoke one of the user's own tokens; anyone else's is 404."""
    try:
        api_token = ApiToken.objects.get(pk=token_id, user=user)
    except ApiToken.DoesNotExist as error:
        raise Http404("No such token.") from error
    ApiToken.objects.filter(pk=api_token.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )
    # Its open event streams end at once.
    send_on_commit(
        user_group(user.pk), {"type": "token.revoked", "user_id": user.pk, "token_id": api_token.pk}
    )
    api_token.refresh_from_db(fields=["revoked_at"])
    return api_token


def api_token_authenticate(token: str) -> ApiToken | None:
    """The active token, with its user, or None."""
    token = token.strip()
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    api_token = (
        ApiToken.objects.select_related("user")
        .filter(token_digest=token_digest(token), revoked_at__isnull=True)
        .first()
    )
    if api_token is None or not api_token.user.is_active:
        return None
    now = timezone.now()
    if api_token.last_used_at is None or api_token.last_used_at < now - LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=api_token.pk).update(last_used_at=now)
    return api_token


def api_token_is_active(token_id: int) -> bool:
    return ApiToken.objects.filter(
        pk=token_id, revoked_at__isnull=True, user__is_active=True
    ).exists()
