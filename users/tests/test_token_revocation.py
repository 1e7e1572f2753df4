"""Tokens end with the account's state: a password change, a deactivation or a deletion ends
every access and refresh token issued before (users.tokens); a forged-looking but signed
token whose user id is not a positive integer is a 401, never a 500."""

import pytest
from django.contrib.auth.hashers import make_password
from django.test import override_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from ecommerce.testing.helpers import TEST_PASSWORD, client_for
from users import services
from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")

NEW_PASSWORD = "An0ther-Secret!"


def _login(client, email: str, password: str = TEST_PASSWORD) -> dict:
    response = client.post("/api/auth/token", {"email": email, "password": password}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def _me(access: str):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client.get("/api/users/me")


def _refresh(client, refresh: str):
    return client.post("/api/auth/token/refresh", {"refresh": refresh}, format="json")


def _assert_refused(response) -> None:
    assert response.status_code == 401, response.content
    assert response.json()["error"]["code"] == "authentication_failed"


def test_changing_the_password_ends_the_old_access_and_refresh_tokens(anon_client, customer):
    old = _login(anon_client, customer.email)
    minted = _refresh(anon_client, old["refresh"]).json()["access"]
    assert _me(old["access"]).status_code == _me(minted).status_code == 200

    changed = _me_client(old["access"]).patch(
        f"/api/users/{customer.pk}", {"password": NEW_PASSWORD, "current_password": TEST_PASSWORD}, format="json"
    )

    assert changed.status_code == 200
    _assert_refused(_me(old["access"]))
    _assert_refused(_me(minted))
    _assert_refused(_refresh(anon_client, old["refresh"]))
    customer.refresh_from_db()
    assert customer.token_version == 1 and customer.check_password(NEW_PASSWORD)
    new = _login(anon_client, customer.email, NEW_PASSWORD)
    assert _me(new["access"]).json()["id"] == customer.pk
    assert _me(_refresh(anon_client, new["refresh"]).json()["access"]).status_code == 200


def _me_client(access: str):
    client = client_for(None)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def test_staff_resetting_a_password_signs_the_customer_out(anon_client, customer, staff_client):
    old = _login(anon_client, customer.email)

    assert staff_client.patch(f"/api/users/{customer.pk}", {"password": NEW_PASSWORD}, format="json").status_code == 200

    _assert_refused(_me(old["access"]))
    _assert_refused(_refresh(anon_client, old["refresh"]))


def test_a_profile_change_keeps_the_tokens(anon_client, customer):
    tokens = _login(anon_client, customer.email)

    assert _me_client(tokens["access"]).patch(f"/api/users/{customer.pk}", {"first_name": "Cat"}).status_code == 200

    assert _me(tokens["access"]).status_code == 200
    assert _refresh(anon_client, tokens["refresh"]).status_code == 200
    assert User.objects.get(pk=customer.pk).token_version == 0


def test_deleting_the_account_ends_its_tokens(anon_client, customer):
    tokens = _login(anon_client, customer.email)

    assert _me_client(tokens["access"]).delete(f"/api/users/{customer.pk}").status_code == 204

    _assert_refused(_me(tokens["access"]))
    _assert_refused(_refresh(anon_client, tokens["refresh"]))
    assert not User.objects.filter(pk=customer.pk).exists()


def test_deactivating_ends_the_tokens_for_good(anon_client, customer):
    tokens = _login(anon_client, customer.email)

    services.user_set_active(user=customer, is_active=False)

    _assert_refused(_me(tokens["access"]))
    _assert_refused(_refresh(anon_client, tokens["refresh"]))
    # Reactivated, the account signs in afresh; what it held before stays dead.
    services.user_set_active(user=User.objects.get(pk=customer.pk), is_active=True)
    _assert_refused(_me(tokens["access"]))
    _assert_refused(_refresh(anon_client, tokens["refresh"]))
    assert _me(_login(anon_client, customer.email)["access"]).status_code == 200
    assert User.objects.get(pk=customer.pk).token_version == 1


def test_issued_tokens_carry_the_version(anon_client, customer):
    User.objects.filter(pk=customer.pk).update(token_version=7)

    tokens = _login(anon_client, customer.email)

    assert AccessToken(tokens["access"])["ver"] == RefreshToken(tokens["refresh"])["ver"] == 7
    assert _me(tokens["access"]).status_code == 200


BAD_USER_IDS = {
    "letters": "abc",
    "float": 1.5,
    "boolean": True,
    "negative": -1,
    "zero": 0,
    "past bigint": 2**63,
    "long digits": "9" * 40,
    "list": [1],
    "null": None,
    "non-ASCII digits": "١",
}


@pytest.mark.parametrize("user_id", list(BAD_USER_IDS.values()), ids=list(BAD_USER_IDS))
def test_a_signed_token_with_a_bad_user_id_is_a_401(anon_client, customer, user_id):
    access = AccessToken.for_user(customer)
    access["user_id"] = user_id
    refresh = RefreshToken.for_user(customer)
    refresh["user_id"] = user_id

    _assert_refused(_me(str(access)))
    _assert_refused(_refresh(anon_client, str(refresh)))


def test_a_signed_token_with_a_bad_version_is_a_401(anon_client, customer):
    access = AccessToken.for_user(customer)
    access["ver"] = "0"

    _assert_refused(_me(str(access)))


def test_a_numeric_string_user_id_as_simplejwt_writes_it_is_accepted(customer):
    access = AccessToken.for_user(customer)

    assert access["user_id"] == str(customer.pk)
    assert _me(str(access)).json()["id"] == customer.pk


def test_a_password_set_outside_the_api_ends_the_tokens_too(anon_client, customer):
    """The admin's password form, `manage.py changepassword`: set_password, then save."""
    tokens = _login(anon_client, customer.email)

    user = User.objects.get(pk=customer.pk)
    user.set_password(NEW_PASSWORD)
    user.save()

    _assert_refused(_me(tokens["access"]))
    _assert_refused(_refresh(anon_client, tokens["refresh"]))
    assert User.objects.get(pk=customer.pk).token_version == 1


def test_a_hash_upgraded_at_login_keeps_the_tokens(anon_client, customer):
    """A hash made with older parameters is re-made at the next login: same password, so
    the tokens issued before stay valid."""
    hashers = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]
    with override_settings(PASSWORD_HASHERS=hashers):
        User.objects.filter(pk=customer.pk).update(password=make_password(TEST_PASSWORD, hasher="pbkdf2_sha256"))
        before = _login(anon_client, customer.email)

        after = _login(anon_client, customer.email)

    upgraded = User.objects.get(pk=customer.pk)
    assert upgraded.password.startswith("md5$") and upgraded.token_version == 0
    assert _me(before["access"]).status_code == _me(after["access"]).status_code == 200
