"""Stores that stop answering without refusing (issue 12, item 11), under gunicorn: a frozen
or refused Redis leaves the rate limits working (a local counter per process) and is left
alone after one short timeout; a frozen MySQL is a 503 naming it, well before the worker's
timeout, and the server recovers when it answers again."""

import time
from decimal import Decimal
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
import requests
from rest_framework_simplejwt.tokens import AccessToken

from catalog import services as catalog_services
from ecommerce.testing.faults import FaultProxy
from ecommerce.testing.helpers import database_url, make_user, throttle_window_with_time_left
from ecommerce.tooling.embedded import free_port
from users.throttles import LoginFailuresPerAddress

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

REDIS_DB = 2  # this suite's own Redis database


@pytest.fixture
def proxies():
    made = []

    def make(target: tuple[str, int] | None = None) -> FaultProxy:
        """A proxy to `target`, or without one a server that never answers."""
        made.append(FaultProxy(*target) if target else FaultProxy())
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()


def _login_rate() -> int:
    return LoginFailuresPerAddress().num_requests


def _wrong_logins(server, count: int) -> list[int]:
    """Each to another account: only the per-address limit applies. The attempts are counted
    in fixed windows: they start in one with time left for all of them."""
    throttle_window_with_time_left(20, window=LoginFailuresPerAddress().duration)
    answers = []
    for n in range(count):
        body = {"email": f"guess{n}@example.com", "password": "wrong-Passw0rd"}
        answers.append(requests.post(f"{server.url}/api/auth/token", json=body, timeout=20).status_code)
    return answers


def _redis_server(live_server_factory, redis_url: str):
    # One worker: its local fallback counter is the whole server's.
    env = {"REDIS_URL": redis_url, "THROTTLE_ENABLED": "1", "REDIS_RETRY_SECONDS": "60"}
    return live_server_factory(workers=1, extra_env=env)


def test_rate_limits_hold_while_redis_is_frozen(live_server_factory, proxies):
    frozen = proxies()
    server = _redis_server(live_server_factory, f"redis://127.0.0.1:{frozen.port}/{REDIS_DB}")
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"))

    answers = _wrong_logins(server, _login_rate() + 1)
    started = time.perf_counter()
    reads = [requests.get(f"{server.url}/api/products/{product.id}", timeout=20) for _ in range(20)]
    elapsed_ms = (time.perf_counter() - started) * 1000 / len(reads)

    assert answers == [401] * _login_rate() + [429]
    assert {r.status_code for r in reads} == {200}
    assert reads[0].json()["name"] == "Kettle"
    # One short timeout, then the breaker keeps every later request away from the frozen Redis.
    assert frozen.accepted <= 2, frozen.accepted
    print(f"catalog read with Redis frozen: {elapsed_ms:.1f} ms on average")


def test_rate_limits_hold_while_redis_refuses_connections(live_server_factory):
    server = _redis_server(live_server_factory, f"redis://127.0.0.1:{free_port()}/{REDIS_DB}")

    assert _wrong_logins(server, _login_rate() + 1) == [401] * _login_rate() + [429]


def test_counters_are_shared_in_redis_and_kept_locally_while_it_is_frozen(live_server_factory, proxies):
    direct = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    direct.flushdb()
    proxy = proxies(("127.0.0.1", 6379))
    server = _redis_server(live_server_factory, f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}")

    assert _wrong_logins(server, _login_rate() + 1) == [401] * _login_rate() + [429]
    assert any(b"login_ip" in key for key in direct.keys("*")), direct.keys("*")

    proxy.freeze()
    # The local counter starts afresh: looser by one window, never switched off.
    assert _wrong_logins(server, _login_rate() + 1) == [401] * _login_rate() + [429]
    direct.flushdb()


def test_a_frozen_mysql_is_a_503_naming_it_before_the_worker_timeout(live_server_factory, proxies):
    staff = make_user("staff@example.com", staff=True)
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"), initial_stock=3)
    url = urlsplit(database_url("mysql"))
    proxy = proxies((url.hostname, url.port))
    proxied = urlunsplit(url._replace(netloc=f"{url.netloc.rsplit('@', 1)[0]}@127.0.0.1:{proxy.port}"))
    # A worker stuck longer than 8 s is killed by gunicorn: the client would get no answer.
    server = live_server_factory(workers=1, extra_env={"MYSQL_URL": proxied, "GUNICORN_TIMEOUT": "8"})
    headers = {"Authorization": f"Bearer {AccessToken.for_user(staff)}"}
    stock = f"{server.url}/api/inventory/{product.id}"
    assert requests.get(stock, headers=headers, timeout=20).json()["quantity"] == 3

    proxy.freeze()
    started = time.perf_counter()
    frozen = requests.get(stock, headers=headers, timeout=30)
    elapsed = time.perf_counter() - started
    # The rest of the shop answers meanwhile.
    catalog = requests.get(f"{server.url}/api/products/{product.id}", timeout=30)

    assert frozen.status_code == 503, frozen.text
    assert frozen.json()["error"]["code"] == "service_unavailable"
    assert frozen.json()["error"]["details"] == {"database": "mysql"}
    assert catalog.status_code == 200
    print(f"frozen MySQL answered 503 in {elapsed:.1f} s")

    proxy.thaw()
    assert requests.get(stock, headers=headers, timeout=20).json()["quantity"] == 3


@pytest.mark.django_db(databases="__all__")
def test_a_cache_that_swallows_its_errors_still_limits_logins(anon_client):
    """A configuration whose only cache is a Redis with IGNORE_EXCEPTIONS (no `throttle`
    alias): it answers None while down, and the counts go on locally, not to a 500."""
    from django.test import override_settings

    from ecommerce.api.throttling import clear_local_counters
    from ecommerce.stores.redis import reset_breaker

    down = {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": f"redis://127.0.0.1:{free_port()}/{REDIS_DB}",
        "OPTIONS": {"IGNORE_EXCEPTIONS": True},
    }
    clear_local_counters()
    try:
        with override_settings(CACHES={"default": down}, THROTTLE_ENABLED=True):
            answers = [
                anon_client.post("/api/auth/token", {"email": f"g{n}@example.com", "password": "wrong-Passw0rd"})
                for n in range(_login_rate() + 1)
            ]
    finally:
        clear_local_counters()
        reset_breaker()

    assert [r.status_code for r in answers] == [401] * _login_rate() + [429]
