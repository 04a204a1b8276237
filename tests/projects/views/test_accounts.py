"""Accounts: sign-in is throttled (after the configured number of wrong
passwords the right one is refused too, with the reason, until the pause
has passed); a forgotten password is reset by email; sign-up is open or by
invitation only, and says hello by email."""

import re
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from projects.models import Membership
from projects.services import team
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "a long passphrase 42"


@pytest.fixture
def ada(db):
    user = UserFactory(username="ada", email="ada@example.com")
    user.set_password(PASSWORD)
    user.save()
    return user


def sign_in(client, password: str, username: str = "ada"):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_ten_wrong_passwords_pause_sign_in_even_with_the_right_one(client, ada, settings):
    settings.AXES_FAILURE_LIMIT = 10
    for _ in range(9):
        response = sign_in(client, "wrong")
        assert response.status_code == 200
        assert "Please enter a correct username and password" in response.text
    assert sign_in(client, "wrong").status_code == 429  # the tenth: paused now
    refused = sign_in(client, PASSWORD)
    assert refused.status_code == 429
    assert "Too many wrong passwords for <strong>ada</strong>" in refused.text
    assert "paused for 15 minutes" in refused.text
    assert "_auth_user_id" not in client.session

    # Once the pause has passed, the right password works (and clears the count).
    AccessAttempt.objects.update(attempt_time=timezone.now() - timedelta(minutes=16))
    assert sign_in(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(ada.pk)
    assert not AccessAttempt.objects.filter(username="ada").exists()


def test_one_address_guessing_many_names_is_paused_too(client, db, settings):
    settings.AXES_FAILURE_LIMIT = 3
    for name in ("a", "b", "c"):
        sign_in(client, "wrong", username=name)
    assert sign_in(client, "wrong", username="d").status_code == 429


def test_signing_up_signs_the_new_user_in_and_says_hello(client, db):
    response = client.post(
        reverse("signup"),
        {
            "username": "grace",
            "email": "grace@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__username="grace").role == "owner"
    assert client.get(reverse("project_list")).status_code == 200
    assert [m.to for m in mail.outbox] == [["grace@example.com"]]
    assert mail.outbox[0].subject == "Welcome to Omni Studio"


def test_a_forgotten_password_is_reset_from_the_sign_in_page(client, ada):
    page = client.get(reverse("login")).text
    assert f'href="{reverse("password_reset")}"' in page
    response = client.post(reverse("password_reset"), {"email": "ada@example.com"})
    assert response.status_code == 302
    assert "Check your email" in client.get(response.url).text
    (sent,) = mail.outbox
    assert sent.to == ["ada@example.com"] and sent.subject == "Reset your Omni Studio password"
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", sent.body)[1]
    form = client.get(link, follow=True)
    assert "Choose a new password" in form.text
    response = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link,
        {
            "new_password1": "an even longer passphrase 77",
            "new_password2": "an even longer passphrase 77",
        },
    )
    assert response.status_code == 302
    assert "Password changed" in client.get(response.url).text
    assert sign_in(client, PASSWORD).status_code == 200  # the old one no longer works
    assert sign_in(client, "an even longer passphrase 77").status_code == 302
    # The link works once.
    assert "has been used or has expired" in client.get(link, follow=True).text


def test_an_unknown_address_gets_the_same_answer_and_no_mail(client, ada):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.com"})
    assert response.status_code == 302 and mail.outbox == []


def test_sign_up_by_invitation_only(client, db, settings):
    settings.STUDIO_SIGNUP = "invitation"
    body = {
        "username": "lin",
        "email": "lin@example.com",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    refused = client.post(reverse("signup"), body)
    assert refused.status_code == 403
    assert "Accounts here are made by invitation" in refused.text
    owner = MembershipFactory(role="owner")
    _, token = team.invitation_create(membership=owner, role="editor")
    invitation_url = reverse("invitation_accept", args=[token])
    response = client.post(reverse("signup") + f"?next={invitation_url}", body)
    assert response.status_code == 302 and response.url == invitation_url
    client.post(invitation_url)
    assert Membership.objects.get(user__username="lin", workspace=owner.workspace).role == "editor"


def test_an_invitation_can_be_sent_by_email(client, db):
    owner = MembershipFactory(role="owner")
    client.force_login(owner.user)
    client.post(
        reverse("workspace_settings", args=[owner.workspace_id]),
        {"action": "invite", "role": "reviewer", "email": "sam@example.com"},
    )
    (sent,) = mail.outbox
    assert sent.to == ["sam@example.com"]
    assert f"Join {owner.workspace.name} on Omni Studio" == sent.subject
    assert "/invitations/" in sent.body and "as reviewer" in sent.body


def test_the_way_in_from_an_invitation_says_where_it_leads(client, db):
    owner = MembershipFactory(role="owner")
    _, token = team.invitation_create(membership=owner, role="reviewer")
    invitation_url = reverse("invitation_accept", args=[token])
    # Signed out, the link asks to sign in first, and the sign-in page says why.
    response = client.get(invitation_url, follow=True)
    said = f"You have been invited to <strong>{owner.workspace.name}</strong> as reviewer."
    assert said in response.text and "Sign in, or create an account, to join." in response.text
    next_query = f"?next={invitation_url}"
    assert f'href="{reverse("signup")}{next_query}"' in response.text
    signup = client.get(reverse("signup") + f"?next={invitation_url}").text
    assert said in signup and "Create your account, then join." in signup
    assert f'href="{reverse("login")}{next_query}"' in signup
    # Anywhere else, or with a link that is no good, nothing is said.
    for next_url in ("/projects/", "/invitations/not-a-real-token-at-all-0000/"):
        page = client.get(reverse("login") + f"?next={next_url}").text
        assert "You have been invited" not in page
