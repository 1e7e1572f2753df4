"""Events that follow another store's commit (MySQL, MongoDB): written after it, repaired when
the process died in between; pruning; the metrics."""

from contextlib import contextmanager
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from catalog import services as catalog_services
from events import services
from events.models import Delivery, Event, Webhook
from inventory import services as inventory_services
from orders.tests.factories import order_body, product

pytestmark = pytest.mark.django_db(databases="__all__")


@contextmanager
def crash_after_commit(hooks: list, hook):
    """The process dies right after the other store committed: the hook never runs."""
    hooks.remove(hook)
    try:
        yield
    finally:
        hooks.append(hook)


def repair() -> dict:
    out = StringIO()
    call_command("repair_events", stdout=out)
    return out.getvalue()


def test_stock_falling_to_its_threshold_writes_stock_low_after_the_mysql_commit(
    customer_client, django_capture_on_commit_callbacks
):
    mug = product(stock=12)  # threshold 10
    with django_capture_on_commit_callbacks(using="mysql", execute=True) as after_commit:
        assert customer_client.post("/api/orders", order_body((mug, 2)), format="json").status_code == 201
    assert after_commit  # the event waited for the MySQL commit
    (event,) = Event.objects.filter(type="stock.low")
    assert event.data["product_id"] == mug.id and event.data["quantity"] == 10
    assert event.dedupe_key.startswith(f"stock.low:{mug.id}:")


def test_stock_low_lost_in_a_crash_is_written_once_by_repair_events(customer_client):
    mug = product(stock=12)
    with crash_after_commit(inventory_services._stock_low_hooks, services.stock_low_record):
        assert customer_client.post("/api/orders", order_body((mug, 3)), format="json").status_code == 201
    assert not Event.objects.filter(type="stock.low").exists()

    assert '"stock.low": 1' in repair()
    (event,) = Event.objects.filter(type="stock.low")
    assert event.data["quantity"] == 9
    assert '"stock.low": 0' in repair()
    assert Event.objects.filter(type="stock.low").count() == 1


def test_repair_does_not_repeat_a_stock_low_the_hook_wrote(customer_client, django_capture_on_commit_callbacks):
    mug = product(stock=12)
    with django_capture_on_commit_callbacks(using="mysql", execute=True):
        customer_client.post("/api/orders", order_body((mug, 3)), format="json")
    assert Event.objects.filter(type="stock.low").count() == 1
    repair()
    assert Event.objects.filter(type="stock.low").count() == 1


def test_product_events_follow_the_mongodb_write(staff_client):
    created = staff_client.post(
        "/api/products", {"name": "Lamp", "price": "20.00", "initial_stock": 50}, format="json"
    ).json()
    staff_client.patch(f"/api/products/{created['id']}", {"price": "25.00"}, format="json")
    staff_client.delete(f"/api/products/{created['id']}")
    events = list(Event.objects.filter(type__startswith="product.").order_by("sequence"))
    assert [event.type for event in events] == ["product.created", "product.updated", "product.deleted"]
    assert events[0].data["price"] == "20.00" and events[1].data["price"] == "25.00"
    assert events[2].data == {"id": created["id"]}
    repair()
    assert Event.objects.filter(type__startswith="product.").count() == 3


def test_product_events_lost_in_a_crash_are_written_once_by_repair_events(staff_client):
    hooks = catalog_services._product_changed_hooks
    with crash_after_commit(hooks, services.product_event_record):
        kept = staff_client.post(
            "/api/products", {"name": "Lamp", "price": "20.00", "initial_stock": 50}, format="json"
        ).json()
        staff_client.patch(f"/api/products/{kept['id']}", {"price": "25.00"}, format="json")
    gone = staff_client.post(
        "/api/products", {"name": "Vase", "price": "5.00", "initial_stock": 50}, format="json"
    ).json()
    with crash_after_commit(hooks, services.product_event_record):
        staff_client.delete(f"/api/products/{gone['id']}")
    assert sorted(Event.objects.values_list("type", flat=True)) == ["product.created"]

    repair()
    assert set(Event.objects.values_list("type", "data__id")) == {
        ("product.created", gone["id"]),
        ("product.created", kept["id"]),
        ("product.deleted", gone["id"]),
        ("product.updated", kept["id"]),
    }
    assert Event.objects.get(type="product.updated").data["price"] == "25.00"
    repair()
    assert Event.objects.count() == 4


def test_a_variants_events_lost_in_a_crash_are_written_once_by_repair_events(staff_client):
    tee = staff_client.post("/api/products", {"name": "Tee", "option_names": ["Size"]}, format="json").json()
    hooks = catalog_services._product_changed_hooks
    with crash_after_commit(hooks, services.product_event_record):
        small = staff_client.post(
            f"/api/products/{tee['id']}/variants",
            {"sku": "TEE-S", "options": {"Size": "S"}, "price": "9.00", "initial_stock": 5},
            format="json",
        ).json()
    assert not Event.objects.filter(data__id=small["id"]).exists()
    assert list(Event.objects.filter(data__id=tee["id"]).values_list("type", flat=True)) == ["product.created"]

    repair()
    assert list(Event.objects.filter(data__id=small["id"]).values_list("type", flat=True)) == ["product.created"]
    repair()
    assert Event.objects.filter(data__id=small["id"]).count() == 1


def test_prune_removes_old_settled_events_and_keeps_pending_ones():
    webhook = Webhook.objects.create(url="http://127.0.0.1:9/x", events=["*"], secret_encrypted="x")
    old_settled, old_pending, recent = (services.event_write(type="stock.low", data={"n": n}) for n in range(3))
    Delivery.objects.filter(event=old_settled).update(status="succeeded")
    long_ago = timezone.now() - timedelta(days=40)
    Event.objects.filter(pk__in=[old_settled.pk, old_pending.pk]).update(created_at=long_ago)

    out = StringIO()
    call_command("prune_events", stdout=out)
    assert '"events": 1' in out.getvalue() and '"deliveries": 1' in out.getvalue()
    assert sorted(Event.objects.values_list("pk", flat=True)) == [old_pending.pk, recent.pk]
    assert Delivery.objects.filter(webhook=webhook).count() == 2


def test_metrics_show_events_written_deliveries_by_status_and_the_oldest_waiting(customer_client, client):
    Webhook.objects.create(url="http://127.0.0.1:9/x", events=["*"], secret_encrypted="x")
    event = services.event_write(type="stock.low", data={})
    Event.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    services.event_write(type="stock.low", data={})
    Delivery.objects.filter(event__pk=event.pk).update(status="failed")
    Delivery.objects.create(webhook=Webhook.objects.get(), event=event, attempt=2)

    text = client.get("/metrics").content.decode()
    assert 'events_deliveries{status="pending"} 2.0' in text
    assert 'events_deliveries{status="failed"} 1.0' in text
    age = float(
        next(line for line in text.splitlines() if line.startswith("events_oldest_undelivered_age_seconds ")).split()[1]
    )
    assert 299 < age < 3600
    assert "events_written_total" in text
