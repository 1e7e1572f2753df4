"""The back office shows an order's payments and refunds, and lets nobody edit them."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from ecommerce.testing.helpers import make_user
from payments.models import Payment
from payments.tests.factories import event, place_order, signed

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(make_user("boss@example.com", staff=True, is_superuser=True))
    return client


def test_an_orders_page_shows_its_payments_and_refunds(customer_client, anon_client, staff_client, admin_client):
    order, _ = place_order(customer_client, price="42.00")
    payment = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json").json()
    body = event(payment, "payment.captured")
    anon_client.post("/api/payments/webhooks/test", body, content_type="application/json", headers=signed(body))
    staff_client.post(
        f"/api/payments/{payment['id']}/refunds", {"amount": "2.50", "reason": "scratched"}, format="json"
    )

    page = admin_client.get(f"/admin/orders/order/{order['id']}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert "<h2>Payments</h2>" in html and "<h2>Refunds</h2>" in html
    assert payment["provider_reference"] in html and "scratched" in html and "2.50" in html


def test_payments_are_listed_read_only(customer_client, admin_client):
    order, _ = place_order(customer_client)
    customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")
    payment = Payment.objects.get()

    listing = admin_client.get("/admin/payments/payment/")
    change = admin_client.post(f"/admin/payments/payment/{payment.pk}/change/", {"status": "captured"})
    delete = admin_client.post(f"/admin/payments/payment/{payment.pk}/delete/", {"post": "yes"})

    assert listing.status_code == 200 and payment.provider_reference in listing.content.decode()
    assert change.status_code == 403 and delete.status_code == 403
    assert Payment.objects.get().status == "requires_confirmation"


def test_the_payment_page_hides_the_client_secret_and_clerks_without_permission_see_no_panel(
    customer_client, admin_client
):
    order, _ = place_order(customer_client)
    payment = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json").json()
    clerk = make_user("clerk@example.com", staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_order"))
    clerk_client = Client()
    clerk_client.force_login(clerk)

    page = admin_client.get(f"/admin/payments/payment/{payment['id']}/change/")
    clerk_page = clerk_client.get(f"/admin/orders/order/{order['id']}/change/")

    assert page.status_code == 200 and payment["client_secret"] not in page.content.decode()
    assert clerk_page.status_code == 200 and "<h2>Payments</h2>" not in clerk_page.content.decode()
