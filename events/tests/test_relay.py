"""The relay as a real process, delivering to a receiver of the test's own on 127.0.0.1."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken
from standardwebhooks.webhooks import Webhook as Verifier

from ecommerce.testing.helpers import client_for, make_user
from events import services
from events.models import Delivery, Event
from events.tests.support import Receiver, RelayProcess, wait_until
from orders.tests.factories import order_body, product

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def auth(user) -> dict:
    return {"Authorization": f"Bearer {AccessToken.for_user(user)}"}


def stock_events(count: int) -> list[Event]:
    return [
        services.event_write(type="stock.low", data={"product_id": f"{n:024x}", "quantity": n}) for n in range(count)
    ]


def test_placed_paid_cancelled_order_reaches_the_receiver_signed_with_feed_ids(live_api, receiver):
    webhook, secret = services.webhook_create(url=receiver.url, events=["order.*"])
    buyer, boss = make_user("buyer@example.com"), make_user("boss@example.com", staff=True)
    mug = product(stock=5)
    order = requests.post(f"{live_api.url}/api/orders", json=order_body((mug, 2)), headers=auth(buyer), timeout=30)
    order_id = order.json()["id"]
    requests.patch(
        f"{live_api.url}/api/orders/{order_id}/status", json={"status": "paid"}, headers=auth(boss), timeout=30
    )
    requests.post(f"{live_api.url}/api/orders/{order_id}/cancel", headers=auth(buyer), timeout=30)

    relay = RelayProcess().start()
    try:
        receiver.wait_for(3)
    finally:
        assert relay.stop() == 0

    verified = [Verifier(secret).verify(item.body, item.headers) for item in receiver.received]
    verified.sort(key=lambda event: event["sequence"])
    assert [event["type"] for event in verified] == ["order.created", "order.paid", "order.cancelled"]
    assert [item.headers["webhook-id"] for item in receiver.received] == [event["id"] for event in receiver.events()]
    feed = requests.get(f"{live_api.url}/api/events?type=order.*", headers=auth(boss), timeout=30).json()["results"]
    assert [(e["id"], e["sequence"], e["type"]) for e in feed] == [
        (e["id"], e["sequence"], e["type"]) for e in verified
    ]
    timeline = requests.get(f"{live_api.url}/api/orders/{order_id}/events", headers=auth(buyer), timeout=30).json()
    assert [e["id"] for e in timeline["results"]] == [e["id"] for e in verified]
    assert list(Delivery.objects.values_list("status", "status_code", "attempt")) == [("succeeded", 200, 1)] * 3


def test_500_three_times_then_200_gives_four_attempts_same_id_and_body_with_growing_delays(receiver):
    receiver.statuses = [500, 500, 500]
    webhook, secret = services.webhook_create(url=receiver.url, events=["stock.low"])
    (event,) = stock_events(1)
    relay = RelayProcess().start()
    try:
        receiver.wait_for(4)
        wait_until(lambda: Delivery.objects.filter(status="succeeded").exists(), what="the success recorded")
    finally:
        assert relay.stop() == 0

    assert {item.headers["webhook-id"] for item in receiver.received} == {str(event.uuid)}
    assert len({item.body for item in receiver.received}) == 1
    for item in receiver.received:
        Verifier(secret).verify(item.body, item.headers)

    staff = make_user("staff@example.com", staff=True)
    log = client_for(staff).get(f"/api/webhooks/{webhook.pk}/deliveries").json()["results"]
    assert [(r["attempt"], r["status"], r["status_code"]) for r in log] == [
        (4, "succeeded", 200),
        (3, "failed", 500),
        (2, "failed", 500),
        (1, "failed", 500),
    ]
    assert {r["event_id"] for r in log} == {str(event.uuid)}
    attempts = sorted(Delivery.objects.values_list("attempted_at", flat=True))
    gaps = [(later - earlier).total_seconds() for earlier, later in zip(attempts, attempts[1:], strict=False)]
    assert gaps[0] < gaps[1] < gaps[2], gaps
    assert log[0]["delivered_at"] is not None and log[1]["next_attempt_at"] is not None


def test_redirects_are_not_followed_and_count_as_a_failed_attempt(receiver):
    receiver.statuses = [302]
    services.webhook_create(url=receiver.url, events=["stock.low"])
    stock_events(1)
    relay = RelayProcess().start()
    try:
        receiver.wait_for(2)
        wait_until(lambda: Delivery.objects.filter(status="succeeded").exists(), what="the success recorded")
    finally:
        relay.stop()
    assert list(Delivery.objects.order_by("attempt").values_list("status_code", "error")) == [
        (302, "redirect not followed"),
        (200, ""),
    ]


def test_relay_killed_mid_delivery_then_restarted_delivers_every_event_with_the_same_ids(receiver):
    receiver.delay = 0.3
    services.webhook_create(url=receiver.url, events=["stock.low"])
    events = stock_events(30)
    first = RelayProcess("--lease-seconds", "11", "--workers", "4", "--per-webhook", "4").start()
    wait_until(lambda: len(receiver.received) >= 6, what="deliveries under way")
    first.kill()
    in_flight = Delivery.objects.filter(status="pending", lease_until__isnull=False).count()
    assert in_flight > 0

    second = RelayProcess("--lease-seconds", "11", "--workers", "4", "--per-webhook", "4").start()
    try:
        wait_until(
            lambda: Delivery.objects.filter(status="succeeded").count() == 30, timeout=90, what="all 30 delivered"
        )
    finally:
        assert second.stop() == 0

    ids = [item.headers["webhook-id"] for item in receiver.received]
    assert set(ids) == {str(event.uuid) for event in events}
    # Only what was in flight when the relay died may arrive twice, and then with the same body.
    assert len(ids) - len(set(ids)) <= in_flight
    bodies = {}
    for item in receiver.received:
        assert bodies.setdefault(item.headers["webhook-id"], item.body) == item.body
    assert receiver.concurrent_repeats == 0


def test_two_relays_share_the_work_without_sending_a_delivery_twice(receiver, capsys):
    services.webhook_create(url=receiver.url, events=["stock.low"])
    count = 300
    events = stock_events(count)
    relays = [RelayProcess("--workers", "4", "--per-webhook", "4").start() for _ in range(2)]
    try:
        receiver.wait_for(count, timeout=120)
        elapsed = receiver.received[-1].at - receiver.received[0].at
        wait_until(lambda: Delivery.objects.filter(status="succeeded").count() == count, what="all recorded")
    finally:
        assert [relay.stop() for relay in relays] == [0, 0]

    ids = [item.headers["webhook-id"] for item in receiver.received]
    assert sorted(ids) == sorted(str(event.uuid) for event in events)  # each exactly once
    assert receiver.concurrent_repeats == 0
    assert Delivery.objects.count() == count
    with capsys.disabled():
        rate = count / elapsed
        print(f"\n[relay throughput] two relays: {count} events, first to last receipt {elapsed:.2f} s: {rate:.0f}/s")


def test_a_slow_endpoint_with_a_backlog_does_not_delay_the_others_and_times_out(receiver):
    slow = Receiver(delay=12)  # past the 10 s timeout
    try:
        services.webhook_create(url=slow.url, events=["stock.low"])
        services.webhook_create(url=receiver.url, events=["order.*"])
        stock_events(10)  # the slow endpoint's backlog, due first
        for n in range(10):
            services.event_write(type="order.created", data={"id": n}, order_id=n)
        relay = RelayProcess("--workers", "4", "--per-webhook", "2").start()
        try:
            receiver.wait_for(10)
            # While the fast endpoint got all ten, the slow one held at most two sends.
            assert len(slow.received) <= 2
        finally:
            # SIGTERM: the sends in flight finish (here: time out) and are recorded before exit.
            assert relay.stop() == 0
        slow_rows = Delivery.objects.filter(webhook__url=slow.url, attempted_at__isnull=False)
        assert slow_rows.exists()
        assert all(row.error == "timeout after 10 s" and row.status == "failed" for row in slow_rows)
        assert not Delivery.objects.filter(status="pending", lease_until__isnull=False).exists()
    finally:
        slow.close()


def test_an_address_turned_private_is_refused_at_delivery_time(receiver):
    services.webhook_create(url=receiver.url, events=["stock.low"])
    stock_events(1)
    relay = RelayProcess(WEBHOOKS_ALLOW_PRIVATE="0").start()
    try:
        wait_until(lambda: Delivery.objects.filter(status="failed").exists(), what="the refused attempt")
    finally:
        relay.stop()
    assert receiver.received == []
    assert Delivery.objects.filter(status="failed").first().error.startswith("refused:")


def test_two_hundred_orders_under_load_all_reach_the_receiver(live_api, receiver):
    services.webhook_create(url=receiver.url, events=["order.created"])
    buyers = [make_user(f"buyer{n}@example.com") for n in range(20)]
    # One product per buyer: the load is on the outbox, not on one stock row.
    goods = [product(name=f"Mug {n}", stock=100) for n in range(20)]
    relay = RelayProcess().start()
    try:

        def buy(n: int) -> int:
            response = requests.post(
                f"{live_api.url}/api/orders",
                json=order_body((goods[n % 20], 1)),
                headers=auth(buyers[n % 20]),
                timeout=60,
            )
            assert response.status_code == 201, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(max_workers=8) as pool:
            order_ids = set(pool.map(buy, range(200)))
        receiver.wait_for(200, timeout=120)
    finally:
        assert relay.stop() == 0
    received = receiver.events()
    assert {event["data"]["id"] for event in received} == order_ids
    assert len({event["id"] for event in received}) == 200
    assert {event["type"] for event in received} == {"order.created"}


def test_the_relay_touches_its_heartbeat_on_every_turn_even_with_the_database_away(tmp_path):
    """What the liveness probe reads: a relay with nothing to send keeps its heartbeat fresh,
    and so does one whose database is unreachable (an outage is not the relay's fault)."""
    heartbeat = tmp_path / "relay-alive"
    idle = RelayProcess("--heartbeat-file", str(heartbeat)).start()
    try:
        first = wait_until(lambda: heartbeat.exists() and heartbeat.stat().st_mtime, what="a first heartbeat")
        wait_until(lambda: heartbeat.stat().st_mtime > first, timeout=10, what="a later heartbeat")
    finally:
        assert idle.stop() == 0

    away = tmp_path / "away-alive"
    unreachable = RelayProcess(
        "--heartbeat-file", str(away), DATABASE_URL="postgres://postgres@127.0.0.1:9/nothing"
    ).start()
    try:
        first = wait_until(lambda: away.exists() and away.stat().st_mtime, what="a heartbeat without a database")
        wait_until(lambda: away.stat().st_mtime > first, timeout=20, what="a later heartbeat without a database")
    finally:
        assert unreachable.stop() == 0
