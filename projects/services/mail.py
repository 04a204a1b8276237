"""Email the studio sends: a welcome on sign-up and invitations. Sent with
Django's configured backend (the console by default, SMTP from the
environment); password-reset mail is Django's own view."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.template.loader import render_to_string

from projects.models import Invitation


def welcome_send(*, user: AbstractBaseUser, site_url: str) -> None:
    email = getattr(user, "email", "")
    if not email:
        return
    send_mail(
        subject="Welcome to Omni Studio",
        message=render_to_string(
            "projects/email/welcome.txt", {"user": user, "site_url": site_url}
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )


def invitation_send(*, invitation: Invitation, link: str, email: str) -> None:
    send_mail(
        subject=f"Join {invitation.workspace.name} on Omni Studio",
        message=render_to_string(
            "projects/email/invitation.txt", {"invitation": invitation, "link": link}
        ),
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[email],
    )
