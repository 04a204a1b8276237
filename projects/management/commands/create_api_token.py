"""`manage.py create_api_token USERNAME [--name NAME]`: print a new API token
for a user, for setting up scripts without a browser."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from projects.services import team
from projects.services.errors import StudioError
from projects.services.tokens import api_token_create


class Command(BaseCommand):
    help = "Create an API token for a user and print it (it is shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("username")
        parser.add_argument("--name", default="Command line", help="What the token is for.")
        parser.add_argument(
            "--create-user",
            action="store_true",
            help="Create the user (with no password, and their own workspace, as signing up "
            "does) if there is none by that name.",
        )

    def handle(self, *args, username: str, name: str, create_user: bool, **options) -> None:
        User = get_user_model()
        with transaction.atomic():
            user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
            if user is None:
                if not create_user:
                    raise CommandError(
                        f"There is no user {username!r}. Sign up in the studio first, or pass "
                        "--create-user."
                    )
                user = User(**{User.USERNAME_FIELD: username})
                user.set_unusable_password()
                user.save()
                team.workspace_create_for_new_user(user=user)
                self.stderr.write(f"Created user {username!r} with their own workspace.")
            try:
                _, token = api_token_create(user=user, name=name)
            except StudioError as error:
                raise CommandError(error.message) from error
        # Only the token on stdout, so `TOKEN=$(manage.py create_api_token ...)` works.
        self.stdout.write(token)
