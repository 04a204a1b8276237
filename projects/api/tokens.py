"""The API's authentication: `Authorization: Bearer <token>` (the tokens
themselves are managed by projects.services.tokens)."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from ninja.security import HttpBearer

from projects.services.tokens import api_token_authenticate


class BearerToken(HttpBearer):
    """`Authorization: Bearer <token>`: the request acts as the token's user,
    with that user's workspaces and roles. Sessions and cookies play no part."""

    def authenticate(self, request: HttpRequest, token: str) -> AbstractBaseUser | None:
        api_token = api_token_authenticate(token)
        if api_token is None:
            return None
        request.api_token = api_token
        request.user = api_token.user
        return api_token.user
