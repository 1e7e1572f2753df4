import pytest
from django.test import override_settings

from ecommerce.testing.helpers import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db(databases="__all__")


def test_token_pair_then_refresh_then_use(anon_client, customer):
    response = anon_client.post(
        "/api/auth/token", {"email": "Customer@Example.com", "password": TEST_PASSWORD}, format="json"
    )
    assert response.status_code == 200
    tokens = response.json()
    assert set(tokens) == {"access", "refresh"}

    refreshed = anon_client.post("/api/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 200 and "access" in refreshed.json()

    anon_client.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert anon_client.get("/api/users/me").json()["id"] == customer.id


def test_wrong_password_and_unknown_email_answer_alike(anon_client, customer):
    wrong = anon_client.post("/api/auth/token", {"email": customer.email, "password": "nope"}, format="json")
    unknown = anon_client.post("/api/auth/token", {"email": "ghost@example.com", "password": "nope"}, format="json")

    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.json()["error"]["code"] == "authentication_failed"


def test_bad_bearer_token_is_authentication_failed(anon_client):
    anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")

    response = anon_client.get("/api/users/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_no_credentials_is_not_authenticated(anon_client):
    response = anon_client.get("/api/users/me")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_inactive_user_cannot_log_in(anon_client):
    make_user("gone@example.com", is_active=False)

    response = anon_client.post("/api/auth/token", {"email": "gone@example.com", "password": TEST_PASSWORD})

    assert response.status_code == 401


@override_settings(THROTTLE_ENABLED=True)
def test_login_is_throttled_per_account_with_retry_after(anon_client, customer):
    from django.core.cache import cache

    cache.clear()
    statuses = [
        anon_client.post("/api/auth/token", {"email": customer.email, "password": "wrong"}, format="json")
        for _ in range(12)
    ]

    limited = statuses[-1]
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert int(limited["Retry-After"]) >= 1
    cache.clear()


@override_settings(THROTTLE_ENABLED=False)
def test_throttling_can_be_switched_off(anon_client, customer):
    from django.core.cache import cache

    cache.clear()
    statuses = {
        anon_client.post("/api/auth/token", {"email": customer.email, "password": "wrong"}, format="json").status_code
        for _ in range(25)
    }

    assert statuses == {401}


@override_settings(THROTTLE_ENABLED=True)
def test_the_admin_login_is_throttled_per_address_too(client, staff):
    statuses = [
        client.post("/admin/login/", {"username": staff.email, "password": "wrong"}, secure=True).status_code
        for _ in range(25)
    ]

    assert statuses[0] == 200  # the form again, with its error
    assert statuses[-1] == 429
