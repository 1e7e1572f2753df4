"""The outbox: order events commit with the order, the feed's order, the timeline."""

import random
import threading
import time

import pytest
from django.db import connection, transaction

from events import services
from events.models import Delivery, Event, Webhook
from orders.models import Order
from orders.tests.factories import order_body, product, stock

pytestmark = pytest.mark.django_db(databases="__all__")


def place(client, *lines) -> dict:
    response = client.post("/api/orders", order_body(*lines), format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_placed_paid_cancelled_order_writes_three_events_in_feed_and_timeline(customer_client, staff_client):
    mug = product(stock=5)
    order = place(customer_client, (mug, 2))
    assert staff_client.patch(f"/api/orders/{order['id']}/status", {"status": "paid"}, format="json").status_code == 200
    assert customer_client.post(f"/api/orders/{order['id']}/cancel").status_code == 200

    feed = staff_client.get("/api/events?type=order.*").json()
    types = [event["type"] for event in feed["results"]]
    assert types == ["order.created", "order.paid", "order.cancelled"]
    sequences = [event["sequence"] for event in feed["results"]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3
    assert feed["next_after"] == sequences[-1]
    assert [event["data"]["status"] for event in feed["results"]] == ["pending", "paid", "cancelled"]
    assert all(event["data"]["id"] == order["id"] for event in feed["results"])
    assert feed["results"][0]["data"]["items"][0]["product_id"] == mug.id

    timeline = customer_client.get(f"/api/orders/{order['id']}/events")
    assert timeline.status_code == 200
    assert [event["id"] for event in timeline.json()["results"]] == [event["id"] for event in feed["results"]]
    assert Event.objects.filter(order_id=order["id"]).count() == 3


def test_timeline_of_another_customers_order_is_404(customer_client, other_client, staff_client):
    order = place(customer_client, (product(stock=5), 1))
    assert other_client.get(f"/api/orders/{order['id']}/events").status_code == 404
    assert staff_client.get(f"/api/orders/{order['id']}/events").json()["count"] == 1
    assert other_client.get("/api/orders/999999/events").status_code == 404


def test_failed_placement_writes_no_event(customer_client):
    mug = product(stock=1)
    response = customer_client.post("/api/orders", order_body((mug, 2)), format="json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "out_of_stock"
    assert not Event.objects.filter(type__startswith="order.").exists()
    assert Order.objects.count() == 0 and stock(mug.id) == (1, 0)


def test_an_event_write_that_fails_rolls_the_order_change_back(customer_client, staff_client):
    """The hook runs inside the order's transaction: no status change without its event."""
    order = place(customer_client, (product(stock=5), 1))
    # The database refuses the hook's insert (as it would on a full disk or a lost connection).
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE events_event ADD CONSTRAINT test_no_paid CHECK (type <> 'order.paid')")
    response = staff_client.patch(f"/api/orders/{order['id']}/status", {"status": "paid"}, format="json")
    assert response.status_code == 409
    assert Order.objects.get(pk=order["id"]).status == "pending"
    assert list(Event.objects.filter(order_id=order["id"]).values_list("type", flat=True)) == ["order.created"]


def test_feed_pages_by_after_filters_by_type_and_bounds_limit(customer_client, staff_client):
    mug = product(stock=50)
    orders = [place(customer_client, (mug, 1)) for _ in range(3)]
    staff_client.patch(f"/api/orders/{orders[0]['id']}/status", {"status": "paid"}, format="json")

    first = staff_client.get("/api/events?limit=2&type=order.*").json()
    assert len(first["results"]) == 2
    rest = staff_client.get(f"/api/events?after={first['next_after']}&type=order.*").json()
    assert [e["type"] for e in first["results"] + rest["results"]] == ["order.created"] * 3 + ["order.paid"]
    assert staff_client.get(f"/api/events?after={rest['next_after']}").json() == {
        "results": [],
        "next_after": rest["next_after"],
    }
    assert [e["type"] for e in staff_client.get("/api/events?type=order.paid").json()["results"]] == ["order.paid"]
    assert len(staff_client.get("/api/events?type=order.*").json()["results"]) == 4
    everything = staff_client.get("/api/events").json()["results"]
    assert everything[0]["type"] == "product.created" and len(everything) == 5
    assert staff_client.get("/api/events?limit=1001").status_code == 400
    assert staff_client.get("/api/events?limit=0").status_code == 400
    assert staff_client.get("/api/events?after=-1").status_code == 400
    assert staff_client.get(f"/api/events?after={2**63 - 1}").json()["results"] == []
    too_far = staff_client.get(f"/api/events?after={2**63}")
    assert too_far.status_code == 400 and too_far.json()["error"]["details"]["after"]
    assert customer_client.get("/api/events").status_code == 403


def test_an_event_gets_one_pending_delivery_per_active_webhook_that_wants_it(customer_client):
    Webhook.objects.create(url="http://127.0.0.1:9/a", events=["order.*"], secret_encrypted="x")
    Webhook.objects.create(url="http://127.0.0.1:9/b", events=["stock.low"], secret_encrypted="x")
    Webhook.objects.create(url="http://127.0.0.1:9/c", events=["*"], secret_encrypted="x", is_active=False)
    place(customer_client, (product(stock=50), 1))
    event = Event.objects.get(type="order.created")
    assert [(d.webhook.url, d.status, d.attempt) for d in Delivery.objects.filter(event=event)] == [
        ("http://127.0.0.1:9/a", "pending", 1)
    ]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_feed_reader_paging_by_after_never_skips_an_event_committed_late():
    """Writers hold their transaction open for a while after writing their event, so a
    later writer's event commits first; the reader pages with ?after= all along and must
    end up with every committed event, in increasing sequence."""
    writers, per_writer = 6, 8
    done = threading.Event()
    seen: list[int] = []

    def write(n: int):
        rng = random.Random(n)
        try:
            for i in range(per_writer):
                with transaction.atomic():
                    services.event_write(type="stock.low", data={"writer": n, "i": i})
                    time.sleep(rng.uniform(0, 0.03))
        finally:
            connection.close()

    def read():
        after = 0
        try:
            while True:
                finished = done.is_set()
                page = services.events_feed_read(after=after, limit=5)
                seen.extend(event.sequence for event in page)
                if page:
                    after = page[-1].sequence
                elif finished:
                    return
                time.sleep(0.002)
        finally:
            connection.close()

    reader = threading.Thread(target=read)
    reader.start()
    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    reader.join()

    committed = list(Event.objects.order_by("sequence").values_list("sequence", flat=True))
    assert len(committed) == writers * per_writer and None not in committed
    assert seen == committed
