"""Which pods need Redis: the NetworkPolicies let exactly the workloads whose code uses the
cache reach it. A repair CronJob kept away from Redis that did use it would hang on every
run; one let in that does not would be a needless opening.

Each repair command runs here, on the test stores, with a real repair to do and the cache
pointed at a port where nothing listens: a command that uses the cache fails on it. The
newer repairs are also recorded store by store (ecommerce.testing.budgets): what they send
to PostgreSQL, MariaDB and MongoDB is what their NetworkPolicies let them reach."""

import io
import socket
import typing
import uuid
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from bson import ObjectId
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from deploy.tests import files
from deploy.tests.test_manifests import CLIENT_DATABASES, egress_peers
from ecommerce.testing import budgets
from events.models import Event
from inventory import services as inventory_services
from inventory.models import Inventory, StockReservation
from payments.models import Payment, Refund
from payments.tests.factories import WEBHOOK_SECRET, event, place_order, signed

pytestmark = pytest.mark.django_db(databases="__all__")


def stock_line(**values) -> SimpleNamespace:
    """An order line as inventory.services.stock_reserve reads it: every field of its
    StockLine protocol, those given here set, the others empty of their type (the protocol
    grows with the catalog: variants added SKUs and options)."""
    empty = {str: "", int: 0, Decimal: Decimal(0), dict: {}, list: []}
    fields = typing.get_type_hints(inventory_services.StockLine)
    return SimpleNamespace(
        **{name: values.get(name, empty.get(typing.get_origin(kind) or kind)) for name, kind in fields.items()}
    )


def unreachable_redis() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def run_without_redis(command: list[str]) -> BaseException | None:
    """Run `python manage.py <command>` in-process with both caches on an unreachable Redis;
    the exception it raised, if any."""
    backend = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": unreachable_redis()}
    caches = {"default": backend, "catalog": {**backend, "KEY_PREFIX": "catalog"}}
    name, *args = command
    with override_settings(CACHES=caches, CATALOG_CACHE_SECONDS=300):
        try:
            call_command(name, *args, stdout=io.StringIO())
        except Exception as error:  # noqa: BLE001 - what the command raised is the finding
            return error
    return None


def stores_reached(command: list[str]) -> tuple[BaseException | None, set[str]]:
    """run_without_redis, recording the databases the command sent anything to, by the
    app.kubernetes.io/name of their workload."""
    with budgets.capture() as captured:
        error = run_without_redis(command)
    sent = {"postgres": captured.sql["default"], "mysql": captured.sql["mysql"], "mongodb": captured.mongo}
    return error, {store for store, statements in sent.items() if statements}


def caused_by_redis(error: BaseException | None) -> bool:
    while error is not None:
        if type(error).__module__.startswith(("redis", "django_redis")):
            return True
        error = error.__cause__ or error.__context__
    return False


def reaches_redis(workload: dict) -> bool:
    return any(peer == ("redis", 6379) for peer in egress_peers(workload))


def cronjob(name: str) -> dict:
    return files.find("CronJob", name)


@pytest.fixture
def broken_books():
    """A crash between the steps: stock reserved for an order that was never written, and
    an inventory row whose product is gone."""
    product_id = str(ObjectId())
    inventory_services.inventory_create(product_id=product_id, quantity=5)
    reference = uuid.uuid4()
    inventory_services.stock_reserve(
        order_reference=reference,
        lines=[stock_line(product_id=product_id, name="Lamp", quantity=2, unit_price=Decimal("9.99"))],
        sales_date=date.today(),
    )
    return product_id, reference


def test_reconcile_orders_never_uses_the_cache_and_cannot_reach_it(broken_books):
    product_id, reference = broken_books
    workload = cronjob("ecommerce-reconcile-orders")
    (container,) = files.pod_spec(workload)["containers"]
    # Every reservation counts as old: the repair happens now.
    error = run_without_redis([*container["command"][2:], "--grace-seconds", "0"])
    assert error is None, repr(error)
    # It did repair: the reservation is released and the stock is back.
    row = Inventory.objects.using("mysql").get(product_id=product_id)
    assert (row.quantity, row.reserved) == (5, 0)
    reservation = StockReservation.objects.using("mysql").get(order_reference=reference)
    assert reservation.status != StockReservation.Status.RESERVED
    assert not reaches_redis(workload)


def test_catalog_repair_uses_the_cache_and_may_reach_it(broken_books):
    product_id, _ = broken_books
    workload = cronjob("ecommerce-catalog-repair")
    (container,) = files.pod_spec(workload)["containers"]
    # Without Redis the repair's cache-generation bump fails, after the repair itself.
    error = run_without_redis(container["command"][2:])
    assert caused_by_redis(error), repr(error)
    assert reaches_redis(workload)


def test_prune_events_never_uses_the_cache_and_cannot_reach_it():
    workload = cronjob("prune-events")
    (container,) = files.pod_spec(workload)["containers"]
    error = run_without_redis(container["command"][2:])
    assert error is None, repr(error)
    assert not reaches_redis(workload)


def test_repair_events_reaches_the_three_databases_and_never_the_cache(staff_client):
    """A product created and one left at its threshold whose events a crash lost (the outbox
    emptied after the MongoDB and MySQL commits): the repair writes them back from MongoDB
    and MySQL into PostgreSQL, with Redis unreachable."""
    created = staff_client.post("/api/products", {"name": "Lamp", "price": "20.00", "initial_stock": 5}, format="json")
    assert created.status_code == 201, created.content
    product_id = created.json()["id"]
    Event.objects.all().delete()
    workload = cronjob("repair-events")
    (container,) = files.pod_spec(workload)["containers"]

    error, reached = stores_reached(container["command"][2:])

    assert error is None, repr(error)
    assert Event.objects.get(type="product.created").data["id"] == product_id
    assert Event.objects.get(type="stock.low").data["product_id"] == product_id
    assert reached == {"postgres", "mysql", "mongodb"} == CLIENT_DATABASES["repair-events"]
    assert not reaches_redis(workload)


def test_reconcile_payments_reaches_postgresql_only_and_never_the_cache(customer_client, anon_client, settings):
    """A captured payment with a refund the provider never answered, 10 minutes old: the
    reconciliation asks again (the test provider, no network) and settles it, sending
    nothing to MariaDB or MongoDB and nothing to Redis."""
    settings.PAYMENTS_TEST_PROVIDER = True
    settings.PAYMENTS_WEBHOOK_SECRET = WEBHOOK_SECRET
    order, _ = place_order(customer_client)
    paid = customer_client.post(f"/api/orders/{order['id']}/payments", {}, format="json")
    assert paid.status_code == 201, paid.content
    body = event(paid.json(), "payment.captured")
    captured = anon_client.post(
        "/api/payments/webhooks/test", body, content_type="application/json", headers=signed(body)
    )
    assert captured.status_code == 200, captured.content
    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(refund_reserved=Decimal("5.00"))
    refund = Refund.objects.create(
        payment=payment, amount=Decimal("5.00"), created_at=timezone.now() - timedelta(minutes=10)
    )
    workload = cronjob("ecommerce-reconcile-payments")
    (container,) = files.pod_spec(workload)["containers"]

    error, reached = stores_reached(container["command"][2:])

    assert error is None, repr(error)
    refund.refresh_from_db()
    assert refund.status == Refund.Status.SUCCEEDED
    assert Payment.objects.get().refunded == Decimal("5.00")
    assert reached == {"postgres"} == CLIENT_DATABASES["ecommerce-reconcile-payments"]
    assert not reaches_redis(workload)


def test_only_cronjobs_that_use_the_cache_are_let_through_to_it():
    """Every CronJob is one of those above: a new one needs its own finding."""
    names = {doc["metadata"]["name"] for doc in files.all_resources() if doc["kind"] == "CronJob"}
    assert names == {
        "ecommerce-reconcile-orders",
        "ecommerce-catalog-repair",
        "prune-events",
        "repair-events",
        "ecommerce-reconcile-payments",
    }
