import pytest
from django.contrib.auth.hashers import check_password

from ecommerce.testing.helpers import TEST_PASSWORD, client_for, make_user
from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")

USER_FIELDS = {"id", "email", "first_name", "last_name", "phone", "is_staff", "date_joined"}


def register(client, **overrides):
    body = {"email": "New@Example.com", "password": TEST_PASSWORD, "first_name": "Nia", "last_name": "New"}
    body.update(overrides)
    return client.post("/api/users", body, format="json")


def test_register_creates_a_customer_with_a_hashed_password(anon_client):
    response = register(anon_client, phone="+44 20 7946 0958")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == USER_FIELDS
    assert body["email"] == "new@example.com"
    assert body["is_staff"] is False
    user = User.objects.get(pk=body["id"])
    assert user.password != TEST_PASSWORD and check_password(TEST_PASSWORD, user.password)


def test_register_with_a_taken_email_is_a_conflict_in_any_case(anon_client, customer):
    response = register(anon_client, email="CUSTOMER@example.com")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert User.objects.filter(email="customer@example.com").count() == 1


@pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
def test_register_with_a_weak_password_is_rejected(anon_client, password):
    response = register(anon_client, password=password)

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert "password" in error["details"]
    assert not User.objects.exists()


def test_register_validates_fields(anon_client):
    response = anon_client.post("/api/users", {"email": "not-an-email", "phone": "call me"}, format="json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"email", "password", "phone"}


def test_register_cannot_make_staff(anon_client):
    response = register(anon_client, is_staff=True)

    assert response.status_code == 201
    assert response.json()["is_staff"] is False


def test_list_is_staff_only_and_searchable(anon_client, customer_client, staff_client, other_customer):
    assert anon_client.get("/api/users").status_code == 401
    assert customer_client.get("/api/users").status_code == 403

    response = staff_client.get("/api/users", {"search": "oscar"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 and body["results"][0]["email"] == "other@example.com"
    assert set(body) == {"count", "next", "previous", "results"}


def test_me_answers_the_caller(customer_client, customer, anon_client):
    assert customer_client.get("/api/users/me").json()["id"] == customer.id
    assert anon_client.get("/api/users/me").status_code == 401


def test_customer_sees_self_but_not_others(customer_client, customer, other_customer):
    assert customer_client.get(f"/api/users/{customer.id}").status_code == 200
    response = customer_client.get(f"/api/users/{other_customer.id}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_staff_sees_anyone_and_unknown_is_404(staff_client, customer):
    assert staff_client.get(f"/api/users/{customer.id}").json()["email"] == customer.email
    assert staff_client.get("/api/users/999999").status_code == 404
    assert staff_client.get("/api/users/abc").status_code == 404


def test_update_is_partial_for_put_and_patch(customer_client, customer):
    assert customer_client.put(f"/api/users/{customer.id}", {"first_name": "Cat"}, format="json").status_code == 200
    assert customer_client.patch(f"/api/users/{customer.id}", {"phone": "555-0100"}, format="json").status_code == 200
    customer.refresh_from_db()
    assert (customer.first_name, customer.last_name, customer.phone) == ("Cat", "Customer", "555-0100")


def test_customer_cannot_make_self_staff(customer_client, customer):
    response = customer_client.put(f"/api/users/{customer.id}", {"is_staff": True}, format="json")

    assert response.status_code == 403
    customer.refresh_from_db()
    assert customer.is_staff is False


def test_staff_can_promote(staff_client, customer):
    response = staff_client.patch(f"/api/users/{customer.id}", {"is_staff": True}, format="json")

    assert response.status_code == 200 and response.json()["is_staff"] is True


def test_password_change_rehashes_and_is_validated(customer_client, customer):
    current = {"current_password": TEST_PASSWORD}
    weak = customer_client.put(f"/api/users/{customer.id}", {"password": "123", **current}, format="json")
    assert weak.status_code == 400

    response = customer_client.put(
        f"/api/users/{customer.id}", {"password": "An0ther-Secret!", **current}, format="json"
    )
    assert response.status_code == 200
    customer.refresh_from_db()
    assert customer.check_password("An0ther-Secret!")


def test_own_email_or_password_change_needs_the_current_password(customer_client, customer):
    for change in ({"email": "new@example.com"}, {"password": "An0ther-Secret!"}):
        missing = customer_client.patch(f"/api/users/{customer.id}", change)
        wrong = customer_client.patch(f"/api/users/{customer.id}", {**change, "current_password": "nope"})

        assert missing.status_code == wrong.status_code == 400
        assert "current_password" in wrong.json()["error"]["details"]
    customer.refresh_from_db()
    assert customer.email == "customer@example.com" and customer.check_password(TEST_PASSWORD)


def test_staff_reset_a_customer_password_but_not_a_superuser_one(staff_client, customer):
    from users.models import User

    boss = User.objects.create_superuser("root@example.com", TEST_PASSWORD)

    assert staff_client.patch(f"/api/users/{customer.id}", {"password": "Reset-Passw0rd!"}).status_code == 200
    assert staff_client.patch(f"/api/users/{boss.id}", {"password": "Reset-Passw0rd!"}).status_code == 403
    boss.refresh_from_db()
    assert boss.check_password(TEST_PASSWORD)


def test_an_update_writes_only_the_fields_it_changes(customer, staff):
    from users.services import user_update

    stale = User.objects.get(pk=customer.pk)
    User.objects.filter(pk=customer.pk).update(is_staff=True)  # staff promoted them meanwhile

    user_update(user=stale, actor=stale, data={"first_name": "Cat"})

    customer.refresh_from_db()
    assert customer.first_name == "Cat" and customer.is_staff is True


def test_email_change_to_a_taken_one_conflicts(customer_client, customer, other_customer):
    response = customer_client.put(
        f"/api/users/{customer.id}",
        {"email": "other@example.com", "current_password": TEST_PASSWORD},
        format="json",
    )

    assert response.status_code == 409


def test_customer_cannot_update_or_delete_another(customer_client, other_customer):
    assert customer_client.put(f"/api/users/{other_customer.id}", {"first_name": "X"}, format="json").status_code == 404
    assert customer_client.delete(f"/api/users/{other_customer.id}").status_code == 404
    assert User.objects.filter(pk=other_customer.id).exists()


def test_delete_self(customer_client, customer):
    response = customer_client.delete(f"/api/users/{customer.id}")

    assert response.status_code == 204
    assert not User.objects.filter(pk=customer.id).exists()


def test_createsuperuser_noinput_uses_email(monkeypatch):
    from django.core.management import call_command

    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Admin@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", TEST_PASSWORD)
    call_command("createsuperuser", interactive=False, verbosity=0)

    admin = User.objects.get(email="admin@example.com")
    assert admin.is_staff and admin.is_superuser and admin.check_password(TEST_PASSWORD)


def test_admin_lists_users_for_staff(client):
    make_user("boss@example.com", staff=True, is_superuser=True)
    client.login(email="boss@example.com", password=TEST_PASSWORD)

    response = client.get("/admin/users/user/", secure=True)

    assert response.status_code == 200
    assert b"boss@example.com" in response.content


def test_client_for_anonymous_has_no_credentials():
    assert client_for(None).get("/api/users/me").status_code == 401


def test_delete_removes_the_wishlist_but_the_account_only(customer_client, customer, other_customer, staff):
    from decimal import Decimal

    from catalog.services import product_create
    from reviews import selectors as review_selectors

    product = product_create(name="Kettle", price=Decimal("30.00"))
    for user in (customer, other_customer):
        response = client_for(user).post(f"/api/wishlist/{user.id}/items", {"product_id": product.id})
        assert response.status_code == 201

    assert customer_client.delete(f"/api/users/{customer.id}").status_code == 204

    assert review_selectors.wishlist_get(actor=staff, user_id=other_customer.id).items
    assert not review_selectors.wishlist_build(user_id=customer.id, include_inactive=True)[0].items


def test_plain_staff_cannot_delete_a_superuser(staff_client):
    boss = User.objects.create_superuser("root@example.com", TEST_PASSWORD)

    response = staff_client.delete(f"/api/users/{boss.pk}")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert User.objects.filter(pk=boss.pk, is_superuser=True).exists()


def test_a_superuser_can_delete_a_superuser():
    boss = User.objects.create_superuser("root@example.com", TEST_PASSWORD)
    other = User.objects.create_superuser("root2@example.com", TEST_PASSWORD)

    response = client_for(boss).delete(f"/api/users/{other.pk}")

    assert response.status_code == 204
    assert list(User.objects.values_list("pk", flat=True)) == [boss.pk]
