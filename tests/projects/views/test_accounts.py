"""Signing in is throttled: after the configured number of wrong passwords
the right one is refused too, with the reason, until the pause has passed.
Signing up still signs the new user in."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from django.utils import timezone

from projects.models import Membership
from tests.factories import UserFactory

PASSWORD = "a long passphrase 42"


@pytest.fixture
def ada(db):
    user = UserFactory(username="ada")
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


def test_signing_up_signs_the_new_user_in(client, db):
    response = client.post(
        reverse("signup"),
        {"username": "grace", "password1": PASSWORD, "password2": PASSWORD},
    )
    assert response.status_code == 302
    assert Membership.objects.get(user__username="grace").role == "owner"
    assert client.get(reverse("project_list")).status_code == 200
