"""ecommerce.stores.sql: the hand-written INSERT writes what the ORM would, and answers the keys."""

import uuid
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from ecommerce.stores import sql
from ecommerce.testing.helpers import make_user
from orders.models import Order

pytestmark = pytest.mark.django_db


def _orders(user, n: int) -> list[Order]:
    now = timezone.now()
    return [
        Order(
            reference=uuid.uuid4(),
            user=user,
            email=user.email,
            total=Decimal("12.34") + i,
            currency="USD",
            shipping_address={"name": "Ann", "city": "Paris", "line1": "1 rue d'Été"},
            created_at=now,
            updated_at=now,
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("returning", [True, False], ids=["one INSERT", "no RETURNING: one save each"])
def test_insert_objects_writes_what_the_orm_reads_back_and_sets_the_keys(returning, monkeypatch):
    monkeypatch.setattr(connections["default"].features, "can_return_rows_from_bulk_insert", returning)
    user = make_user("ann@example.com")
    orders = _orders(user, 2)

    sql.insert_objects(orders, using="default")

    assert all(order.pk is not None and not order._state.adding for order in orders)
    for order in orders:
        stored = Order.objects.get(pk=order.pk)
        assert (stored.reference, stored.user_id, stored.total, stored.shipping_address, stored.created_at) == (
            order.reference,
            user.pk,
            order.total,
            order.shipping_address,
            order.created_at,
        )
