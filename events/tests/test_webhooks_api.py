"""Webhook subscriptions through the API: secrets, SSRF refusals, rotation, deliveries, redeliver."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from standardwebhooks.webhooks import Webhook as Verifier

from events import relay, services
from events.models import Delivery, Event, Webhook

pytestmark = pytest.mark.django_db(databases="__all__")


def subscribe(client, url="http://127.0.0.1:9/hook", events=("order.*",), **extra):
    return client.post("/api/webhooks", {"url": url, "events": list(events), **extra}, format="json")


def test_create_answers_the_secret_once_and_stores_it_encrypted(staff_client):
    response = subscribe(staff_client, events=["order.*", "stock.low"], description="warehouse")
    assert response.status_code == 201
    body = response.json()
    assert body["secret"].startswith("whsec_")
    assert body["events"] == ["order.*", "stock.low"] and body["is_active"] and body["description"] == "warehouse"
    stored = Webhook.objects.get(pk=body["id"])
    assert body["secret"] not in stored.secret_encrypted and body["secret"][6:] not in stored.secret_encrypted
    assert services.webhook_signing_secrets(webhook=stored) == [body["secret"]]
    shown = staff_client.get(f"/api/webhooks/{body['id']}").json()
    assert "secret" not in shown and shown["url"] == "http://127.0.0.1:9/hook"
    assert staff_client.get("/api/webhooks").json()["count"] == 1


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_private_addresses_are_refused_without_the_flag(staff_client, settings, url):
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = subscribe(staff_client, url=url)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "url" in response.json()["error"]["details"]
    assert not Webhook.objects.exists()


def test_a_webhook_moved_to_a_private_address_is_refused(staff_client, settings):
    webhook_id = subscribe(staff_client).json()["id"]
    settings.WEBHOOKS_ALLOW_PRIVATE = False
    response = staff_client.patch(f"/api/webhooks/{webhook_id}", {"url": "http://127.0.0.2/x"}, format="json")
    assert response.status_code == 400
    assert Webhook.objects.get().url == "http://127.0.0.1:9/hook"


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "events": ["order.*"]},
        {"url": "http://127.0.0.1:9/x", "events": ["order.exploded"]},
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://user:pw@127.0.0.1:9/x", "events": ["*"]},
        {"url": "http://no-such-host.invalid/x", "events": ["*"]},
    ],
)
def test_bad_subscriptions_are_400(staff_client, body):
    assert staff_client.post("/api/webhooks", body, format="json").status_code == 400
    assert not Webhook.objects.exists()


def test_customers_cannot_touch_webhooks_or_the_feed(customer_client, staff_client):
    webhook_id = subscribe(staff_client).json()["id"]
    assert subscribe(customer_client).status_code == 403
    assert customer_client.get("/api/webhooks").status_code == 403
    assert customer_client.get(f"/api/webhooks/{webhook_id}/deliveries").status_code == 403
    assert customer_client.post(f"/api/webhooks/{webhook_id}/rotate-secret").status_code == 403


def test_patch_changes_only_what_is_sent_and_delete_removes_the_log(staff_client, customer_client):
    webhook_id = subscribe(staff_client).json()["id"]
    response = staff_client.patch(f"/api/webhooks/{webhook_id}", {"is_active": False}, format="json")
    assert response.status_code == 200 and response.json()["is_active"] is False
    assert response.json()["events"] == ["order.*"]
    staff_client.patch(f"/api/webhooks/{webhook_id}", {"is_active": True}, format="json")
    services.event_write(type="order.created", data={"id": 1}, order_id=1)
    assert Delivery.objects.count() == 1
    assert staff_client.delete(f"/api/webhooks/{webhook_id}").status_code == 204
    assert not Delivery.objects.exists() and Event.objects.count() == 1
    assert staff_client.get(f"/api/webhooks/{webhook_id}").status_code == 404


def test_rotation_signs_with_both_secrets_for_the_overlap(staff_client):
    created = subscribe(staff_client).json()
    rotated = staff_client.post(f"/api/webhooks/{created['id']}/rotate-secret")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != created["secret"]
    webhook = Webhook.objects.get()
    assert services.webhook_signing_secrets(webhook=webhook) == [new_secret, created["secret"]]

    body = b'{"id":"x"}'
    headers = relay.signed_headers(
        event_id="msg_1", body=body, secrets=services.webhook_signing_secrets(webhook=webhook)
    )
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new_secret, created["secret"]):
        assert Verifier(secret).verify(body, headers) == {"id": "x"}

    # After the 24 hours only the new secret signs.
    Webhook.objects.update(previous_secret_expires_at=webhook.previous_secret_expires_at.replace(year=2000))
    assert services.webhook_signing_secrets(webhook=Webhook.objects.get()) == [new_secret]


def test_deliveries_log_and_redeliver_keep_the_event_id(staff_client):
    webhook_id = subscribe(staff_client).json()["id"]
    event = services.event_write(type="order.paid", data={"id": 7}, order_id=7)
    first = Delivery.objects.get()
    Delivery.objects.filter(pk=first.pk).update(
        status="failed", status_code=500, error="HTTP 500", next_attempt_at=None
    )

    log = staff_client.get(f"/api/webhooks/{webhook_id}/deliveries").json()
    assert log["count"] == 1
    row = log["results"][0]
    assert row["event_id"] == str(event.uuid) and row["attempt"] == 1 and row["status_code"] == 500
    assert set(row) >= {
        "id",
        "event_id",
        "attempt",
        "status_code",
        "duration_ms",
        "error",
        "next_attempt_at",
        "delivered_at",
    }

    again = staff_client.post(f"/api/webhooks/{webhook_id}/deliveries/{first.pk}/redeliver")
    assert again.status_code == 202
    assert again.json()["event_id"] == str(event.uuid) and again.json()["status"] == "pending"
    # A second redeliver while one waits does not queue another.
    assert staff_client.post(f"/api/webhooks/{webhook_id}/deliveries/{first.pk}/redeliver").status_code == 202
    assert Delivery.objects.filter(status="pending").count() == 1
    assert [r["id"] for r in staff_client.get(f"/api/webhooks/{webhook_id}/deliveries").json()["results"]] == [
        again.json()["id"],
        first.pk,
    ]
    assert staff_client.post(f"/api/webhooks/{webhook_id}/deliveries/999999/redeliver").status_code == 404


def test_list_endpoints_cost_the_same_queries_for_one_row_or_many(staff_client):
    webhook_id = subscribe(staff_client).json()["id"]
    subscribe(staff_client, url="http://127.0.0.1:9/other")

    def counted(path: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            assert staff_client.get(path).status_code == 200
        return len(queries)

    services.event_write(type="order.created", data={"id": 1}, order_id=1)
    few = {path: counted(path) for path in ("/api/events", f"/api/webhooks/{webhook_id}/deliveries", "/api/webhooks")}
    for n in range(2, 12):
        services.event_write(type="order.created", data={"id": n}, order_id=n)
    many = {path: counted(path) for path in few}
    assert many == few
    assert staff_client.get("/api/events").json()["results"][-1]["sequence"] == 11
