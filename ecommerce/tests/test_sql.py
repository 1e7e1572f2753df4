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


def _fields(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in type(instance)._meta.concrete_fields}


def test_find_loads_the_user_the_orm_loads():
    user = make_user("bea@example.com", staff=True, first_name="Béa")
    user.last_login = timezone.now()
    user.save()

    found = sql.find(type(user), user.pk, using="default")

    assert _fields(found) == _fields(type(user).objects.get(pk=user.pk))
    assert (found._state.db, found._state.adding) == ("default", False)
    assert sql.find(type(user), user.pk + 1000, using="default") is None


@pytest.mark.django_db(databases="__all__")
def test_find_converts_what_mysql_answers_as_the_orm_does():
    """UUIDs (char(32) there), JSON, money, dates and aware datetimes: the ORM's converters."""
    from inventory.models import StockReservation

    reservation = StockReservation.objects.using("mysql").create(
        order_reference=uuid.uuid4(),
        product_id="p1",
        name="Mug",
        options={"colour": "red", "size": "L"},
        quantity=2,
        unit_price=Decimal("9.90"),
        sales_date=timezone.now().date(),
    )

    found = sql.find(StockReservation, reservation.pk, using="mysql")

    assert _fields(found) == _fields(StockReservation.objects.using("mysql").get(pk=reservation.pk))
    assert isinstance(found.order_reference, uuid.UUID) and found.options == {"colour": "red", "size": "L"}
    assert found.created_at.tzinfo is not None
