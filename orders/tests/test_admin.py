import pytest
from django.test import Client

from ecommerce.testing.helpers import make_user
from orders import services
from orders.models import Order
from orders.tests.factories import ADDRESS, product

pytestmark = pytest.mark.django_db(databases="__all__")


def test_staff_read_orders_carts_inventory_and_sales_in_the_admin(customer):
    mug = product(stock=5)
    order = services.order_place(user=customer, items=[{"product_id": mug.id, "quantity": 2}], shipping_address=ADDRESS)
    client = Client()
    client.force_login(make_user("root@example.com", staff=True, is_superuser=True))

    for path in (
        "/admin/orders/order/",
        f"/admin/orders/order/{order.order.pk}/change/",
        "/admin/orders/idempotencykey/",
        "/admin/cart/cartitem/",
        "/admin/inventory/inventory/",
        f"/admin/inventory/inventory/{mug.id}/change/",
        "/admin/inventory/stockreservation/",
        "/admin/analytics/dailysales/",
        "/admin/analytics/productsales/",
    ):
        response = client.get(path)
        assert response.status_code == 200, path

    page = client.get(f"/admin/orders/order/{order.order.pk}/change/").content.decode()
    assert "Mug" in page and "19.98" in page
    # Orders are read-only in the admin: the status moves only through the API with its stock.
    client.post(f"/admin/orders/order/{order.order.pk}/change/", {"status": "delivered"})
    assert Order.objects.get().status == "pending"
    assert client.get("/admin/orders/order/add/").status_code == 403
