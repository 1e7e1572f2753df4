"""`make run`'s relay: started beside the server, stopped gracefully with it."""

import pytest

from ecommerce.testing.helpers import BASE_DIR, LiveServer
from events import launcher, services
from events.models import Delivery
from events.tests.support import RELAY_ENV, wait_until

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_relay_beside_delivers_while_the_block_runs_and_stops_gracefully_after(receiver, monkeypatch):
    for name, value in {**LiveServer().env(), **RELAY_ENV, "EVENTS_RELAY_POLL_MS": "50"}.items():
        monkeypatch.setenv(name, value)
    services.webhook_create(url=receiver.url, events=["stock.low"])
    services.event_write(type="stock.low", data={"n": 1})
    with launcher.relay_beside(BASE_DIR) as relay:
        receiver.wait_for(1)
        wait_until(lambda: Delivery.objects.filter(status="succeeded").exists(), what="the delivery recorded")
    assert relay.returncode == 0  # SIGTERM handled: a clean exit, not a kill
