"""A store going down answers 503 naming it, and coming back needs no restart."""

import time
from urllib.parse import urlparse

import pytest
import requests
from django.conf import settings

from ecommerce.stores import mongo
from ecommerce.testing.faults import FaultProxy
from ecommerce.testing.helpers import database_url

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.fixture
def mongo_proxy():
    target = urlparse(settings.MONGO_URL)
    proxy = FaultProxy(target.hostname, target.port)
    original = settings.MONGO_URL
    settings.MONGO_URL = f"mongodb://127.0.0.1:{proxy.port}{target.path}"
    mongo.reset_client()
    yield proxy
    settings.MONGO_URL = original
    mongo.reset_client()
    proxy.close()


def test_mongodb_down_then_back_in_process(anon_client, mongo_proxy):
    assert anon_client.get("/health").status_code == 200

    mongo_proxy.refuse()
    started = time.monotonic()
    down = anon_client.get("/health")
    assert time.monotonic() - started < 10
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "degraded"
    assert body["checks"]["mongodb"]["status"] == "error" and body["checks"]["mongodb"]["error"]
    assert body["checks"]["postgres"]["status"] == "ok"

    mongo_proxy.restore()
    assert anon_client.get("/health").status_code == 200


def test_mysql_down_then_back_on_a_live_server(live_server_factory):
    target = urlparse(database_url("mysql"))
    proxy = FaultProxy(target.hostname, target.port)
    proxied = target._replace(netloc=f"{target.username}@127.0.0.1:{proxy.port}").geturl()
    server = live_server_factory(workers=1, extra_env={"MYSQL_URL": proxied})
    try:
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200

        proxy.refuse()
        down = requests.get(f"{server.url}/health", timeout=15)
        assert down.status_code == 503
        assert down.json()["checks"]["mysql"]["status"] == "error"
        assert down.json()["checks"]["postgres"]["status"] == "ok"
        # What does not need MySQL keeps working.
        assert requests.get(f"{server.url}/health/live", timeout=5).status_code == 200

        proxy.restore()
        assert requests.get(f"{server.url}/health", timeout=10).status_code == 200
    finally:
        server.stop()
        proxy.close()
