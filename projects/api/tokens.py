"""The API's authentication: `Authorization: Bearer <token>` (the tokens
themselves are managed by projects.services.tokens). Wrong tokens are
counted by django-axes like wrong passwords: after STUDIO_LOGIN_FAILURE_LIMIT
of them from one address, that address is refused for the cool-off."""

from __future__ import annotations

import contextlib

from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.signals import user_login_failed
from django.http import HttpRequest
from ninja.security import HttpBearer

from projects.api.errors import ApiError
from projects.services.tokens import api_token_authenticate


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: the request acts as the token's user,
    with that user's workspaces and roles. Sessions and cookies play no part."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        # Counted per address: a name shared by every client would let ten
        # wrong tokens anywhere lock everyone out.
        credentials = {"username": f"API token from {get_client_ip_address(request)}"}
        if not _allowed(request, credentials):
            raise locked_out()
        api_token = api_token_authenticate(token)
        if api_token is None:
            with contextlib.suppress(ValueError):  # no address to count against
                user_login_failed.send(sender=__name__, credentials=credentials, request=request)
            return None
        request.api_token = api_token
        request.user = api_token.user
        return api_token.user


def locked_out() -> ApiError:
    """The answer while an address is paused for wrong tokens."""
    seconds = int(settings.AXES_COOLOFF_TIME.total_seconds())
    return ApiError(
        429,
        "rate_limited",
        f"Too many wrong tokens from this address: try again in {round(seconds / 60)} minutes.",
        headers={"Retry-After": str(seconds)},
    )


def _allowed(request: HttpRequest, credentials: dict) -> bool:
    try:
        return AxesProxyHandler.is_allowed(request, credentials)
    except ValueError:
        # A client with no IP address (an in-process ASGI client): nothing
        # to count it against.
        return True
