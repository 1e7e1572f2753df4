"""The catalog read cache: reads served without MongoDB, writes seen at once, no stampede.

On the real Redis (database 10, or TEST_REDIS_URL) and on the embedded default's shared
files, with nx-27017 behind. MongoDB reads are counted two ways: by the cache's own counter
of how it answered (catalog_cache_reads_total) and by the commands nx-27017 received."""

import dataclasses
import multiprocessing
import os
import threading
import time
from decimal import Decimal

import pytest
from django.test import override_settings

from catalog import cache as catalog_cache
from catalog import repository, services
from ecommerce.testing.helpers import client_for

pytestmark = pytest.mark.django_db(databases="__all__")

REDIS = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/10")
_BACKEND = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": REDIS}
_MONGO_READS = ("refresh", "fill", "fill_after_wait", "uncached")


def _use(catalog: dict, seconds: int = 60):
    caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}, "catalog": catalog}
    return override_settings(CACHES=caches, CATALOG_CACHE_SECONDS=seconds)


@pytest.fixture
def shared_cache():
    with _use({**_BACKEND, "KEY_PREFIX": f"test-{os.getpid()}"}):
        from django.core.cache import caches as handler

        handler["catalog"].clear()
        yield handler["catalog"]
        handler["catalog"].clear()


@pytest.fixture
def file_cache(tmp_path):
    """The embedded default's cache: files in a directory the workers share."""
    with _use({"BACKEND": "ecommerce.stores.filecache.SharedFileCache", "LOCATION": str(tmp_path / "cache")}):
        from django.core.cache import caches as handler

        yield handler["catalog"]


@pytest.fixture(params=["redis", "files"])
def any_cache(request):
    return request.getfixturevalue("shared_cache" if request.param == "redis" else "file_cache")


class Reads:
    """How the cache answered the reads made since the last `take()` (this process)."""

    def __init__(self):
        self.before = catalog_cache.read_counts()

    def take(self) -> dict[str, int]:
        now = catalog_cache.read_counts()
        delta = {outcome: now[outcome] - self.before[outcome] for outcome in now}
        self.before = now
        return {outcome: n for outcome, n in delta.items() if n}


def _at_once(path: str, n: int) -> list:
    """`n` anonymous GETs of `path` released together, each from its own thread and client."""
    barrier = threading.Barrier(n)
    answers: list = [None] * n

    def get(i):
        client = client_for(None)
        barrier.wait()
        answers[i] = client.get(path)

    threads = [threading.Thread(target=get, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _read_key(path: str, role: str = "public") -> str:
    return f"catalog:read:{role}:http://testserver{path}?"


def _lock_key(cache, path: str) -> str:
    """The lock a worker holds while it computes `path` in the current generation."""
    return f"{_read_key(path)}:lock:{cache.get(catalog_cache.GENERATION_KEY)}"


def _reprice_behind_the_api(product_id: str, price: str) -> None:
    """A change the cache is not told of (no new generation): only a refresh shows it."""
    product = repository.product_find_many([product_id])[product_id]
    repository.product_replace(dataclasses.replace(product, price=Decimal(price)))


def test_a_repeated_read_does_not_touch_mongodb(any_cache, anon_client, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").status_code == 200
    assert anon_client.get("/api/products").status_code == 200
    reads = Reads()

    with mongo_commands.recording() as commands:
        detail = anon_client.get(f"/api/products/{product.id}")
        listing = anon_client.get("/api/products")

    assert commands == []
    assert reads.take() == {"hit": 2}
    assert detail.json()["name"] == "Lamp" and listing.json()["count"] == 1


def test_writes_are_visible_to_the_next_read(any_cache, anon_client, staff_client, customer_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"
    assert anon_client.get("/api/products", {"sort": "price"}).json()["results"][0]["price"] == "20.00"

    assert staff_client.patch(f"/api/products/{product.id}", {"price": "25.50"}).status_code == 200
    review = customer_client.post("/api/reviews", {"product_id": product.id, "rating": 4, "title": "Good"})
    assert review.status_code == 201

    detail = anon_client.get(f"/api/products/{product.id}").json()
    assert detail["price"] == "25.50" and detail["rating"] == {"average": "4.00", "count": 1}
    assert anon_client.get("/api/products", {"sort": "price"}).json()["results"][0]["price"] == "25.50"

    assert staff_client.delete(f"/api/products/{product.id}").status_code == 204
    assert anon_client.get(f"/api/products/{product.id}").status_code == 404
    assert anon_client.get("/api/products").json()["count"] == 0


def test_concurrent_misses_of_one_key_read_mongodb_once(any_cache, mongo_commands):
    for i in range(30):
        services.product_create(name=f"Lamp {i}", price=Decimal("20.00") + i)
    path = "/api/products?limit=20&sort=price"
    with mongo_commands.recording() as commands:
        alone = client_for(None).get(path)
    one_read = list(commands)
    services.product_update(product_id=alone.json()["results"][0]["id"], data={"name": "Lamp zero"})
    reads = Reads()

    with mongo_commands.recording() as commands:
        answers = _at_once(path, 8)

    assert one_read and sorted(commands) == sorted(one_read)
    counts = reads.take()  # the others waited for that read, or came after it
    assert counts.pop("fill") == 1 and set(counts) <= {"waited", "hit"} and sum(counts.values()) == 7
    assert {a.status_code for a in answers} == {200}
    assert len({a.content for a in answers}) == 1
    assert answers[0].json()["results"][0]["name"] == "Lamp zero"


def _until(condition, seconds: float = 10.0):
    """Poll `condition` until it is true (a refresh runs in the background); its last value."""
    deadline = time.monotonic() + seconds
    while not (value := condition()) and time.monotonic() < deadline:
        time.sleep(0.02)
    return value


def test_past_its_freshness_the_old_answer_is_served_and_refreshed_behind(any_cache, anon_client, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    with _use_seconds(1):
        assert anon_client.get(path).json()["price"] == "20.00"
        _reprice_behind_the_api(product.id, "25.00")
        # No read until it is stale: a read of a stale entry would start its refresh now.
        time.sleep(1.05)
        reads = Reads()

        # Another worker holds the refresh: this one answers what the cache holds, nothing more.
        assert any_cache.add(_lock_key(any_cache, path), 1, timeout=10)
        with mongo_commands.recording() as commands:
            assert anon_client.get(path).json()["price"] == "20.00"
        time.sleep(0.2)
        assert commands == [] and reads.take() == {"stale": 1}

        # That worker gone (its lock released or expired): the next request is answered the
        # entry too, and this process refreshes it behind the answer.
        any_cache.delete(_lock_key(any_cache, path))
        assert anon_client.get(path).json()["price"] == "20.00"
        assert _until(lambda: catalog_cache.read_counts()["refreshed"] > reads.before["refreshed"])
        assert anon_client.get(path).json()["price"] == "25.00"
        assert reads.take() == {"stale": 1, "refreshed": 1, "hit": 1}
        assert any_cache.get(_lock_key(any_cache, path)) is None


def test_many_requests_past_the_freshness_wait_for_nothing_and_make_one_refresh(any_cache, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    with _use_seconds(1):
        client_for(None).get(path)
        _reprice_behind_the_api(product.id, "25.00")
        time.sleep(1.05)
        reads = Reads()

        with mongo_commands.recording() as commands:
            answers = _at_once(path, 8)
            assert _until(lambda: catalog_cache.read_counts()["refreshed"] > reads.before["refreshed"])

        assert {a.json()["price"] for a in answers} <= {"20.00", "25.00"}
        assert client_for(None).get(path).json()["price"] == "25.00"
    counts = reads.take()
    assert counts.pop("refreshed") == 1 and counts.pop("hit") >= 1 and set(counts) <= {"stale", "hit"}
    assert commands == [("find", "products")]


def test_a_refresh_that_finds_the_product_gone_stops_serving_it(any_cache, anon_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    with _use_seconds(1):
        anon_client.get(path)
        repository.product_delete_one(product.id)  # behind the API's back: no new generation
        time.sleep(1.05)
        reads = Reads()

        assert anon_client.get(path).status_code == 200  # the entry, while it is refreshed
        assert _until(lambda: catalog_cache.read_counts()["refresh_failed"] > reads.before["refresh_failed"])

        assert anon_client.get(path).status_code == 404
    assert reads.take() == {"stale": 1, "refresh_failed": 1, "fill": 1}


def test_a_write_is_seen_at_once_even_while_an_old_entry_is_being_refreshed(any_cache, anon_client, staff_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    with _use_seconds(1):
        anon_client.get(path)
        time.sleep(1.05)
        assert any_cache.add(_lock_key(any_cache, path), 1, timeout=10)  # a refresh under way elsewhere
        reads = Reads()

        assert staff_client.patch(path, {"price": "30.00"}).status_code == 200

        assert anon_client.get(path).json()["price"] == "30.00"
    assert reads.take() == {"fill": 1}


def test_a_miss_whose_computing_request_gives_up_is_computed_by_the_waiter(any_cache):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    lock = _lock_key(any_cache, path)
    assert any_cache.add(lock, 1, timeout=10)  # another worker started computing it
    reads = Reads()
    answer = []
    waiter = threading.Thread(target=lambda: answer.append(client_for(None).get(path)))
    waiter.start()
    time.sleep(0.1)
    assert not answer  # still waiting for the other worker

    any_cache.delete(lock)  # which failed: no entry stored
    waiter.join()

    assert answer[0].status_code == 200 and answer[0].json()["price"] == "20.00"
    assert reads.take() == {"fill_after_wait": 1}


def test_an_anonymous_hit_answers_what_the_full_request_cycle_answers(any_cache, anon_client, customer_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    filled = customer_client.get(path)  # through DRF: the entry is made
    reads = Reads()

    early = anon_client.get(path)  # served before DRF's request cycle
    through_drf = customer_client.get(path)  # credentials: the full cycle, the same entry

    assert reads.take() == {"hit": 2}
    for answer in (early, through_drf):
        assert answer.status_code == 200
        assert answer.content == filled.content
        assert (answer["Content-Type"], answer["Allow"]) == (filled["Content-Type"], filled["Allow"])


def test_a_cached_read_still_refuses_bad_credentials_and_unrenderable_accepts(any_cache, anon_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    path = f"/api/products/{product.id}"
    assert anon_client.get(path).status_code == 200
    assert anon_client.get(path).status_code == 200  # cached

    assert anon_client.get(path, HTTP_AUTHORIZATION="Bearer not-a-token").status_code == 401
    assert anon_client.get(path, HTTP_ACCEPT="text/html").status_code == 406
    assert anon_client.get(path, HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8").status_code == 200


def test_entries_outlive_their_freshness_in_redis(shared_cache, anon_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    anon_client.get(f"/api/products/{product.id}")

    ttl = shared_cache.ttl(_read_key(f"/api/products/{product.id}"))

    assert 60 < ttl <= 600


def test_staff_and_customers_are_cached_apart(any_cache, anon_client, staff_client):
    services.product_create(name="Hidden", price=Decimal("5.00"), is_active=False)

    assert staff_client.get("/api/products").json()["count"] == 1
    assert anon_client.get("/api/products").json()["count"] == 0


def test_without_a_shared_cache_reads_go_to_mongodb(anon_client, mongo_commands):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    anon_client.get(f"/api/products/{product.id}")

    with mongo_commands.recording() as commands:
        anon_client.get(f"/api/products/{product.id}")

    assert commands


def test_a_lost_generation_never_brings_back_old_entries(any_cache, anon_client, staff_client):
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"
    any_cache.delete(catalog_cache.GENERATION_KEY)  # evicted by the LRU, or Redis restarted
    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"

    any_cache.delete(catalog_cache.GENERATION_KEY)
    assert staff_client.patch(f"/api/products/{product.id}", {"price": "30.00"}).status_code == 200

    assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "30.00"


def test_a_cache_that_is_down_is_read_through(anon_client, staff_client, customer):
    down = {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    down["OPTIONS"] = {"IGNORE_EXCEPTIONS": True, "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    reads = Reads()
    # As production has it: rate-limit counters see the failure (and count in the process).
    throttle = {**down, "OPTIONS": {**down["OPTIONS"], "IGNORE_EXCEPTIONS": False}}
    with override_settings(CACHES={"default": down, "catalog": down, "throttle": throttle}, CATALOG_CACHE_SECONDS=60):
        assert anon_client.get(f"/api/products/{product.id}").status_code == 200
        assert staff_client.patch(f"/api/products/{product.id}", {"price": "21.00"}).status_code == 200
        assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "21.00"
        login = anon_client.post("/api/auth/token", {"email": customer.email, "password": "Str0ng-Passw0rd!"})
        assert login.status_code == 200
    assert reads.take() == {"uncached": 2}


def test_a_cache_directory_that_cannot_be_written_is_read_through(tmp_path, anon_client, staff_client):
    (tmp_path / "not-a-directory").write_text("")
    product = services.product_create(name="Lamp", price=Decimal("20.00"))
    catalog = {"BACKEND": "ecommerce.stores.filecache.SharedFileCache", "LOCATION": str(tmp_path / "not-a-directory")}
    with _use(catalog):
        assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "20.00"
        assert staff_client.patch(f"/api/products/{product.id}", {"price": "21.00"}).status_code == 200
        assert anon_client.get(f"/api/products/{product.id}").json()["price"] == "21.00"
        assert anon_client.get("/api/products").json()["count"] == 1


def _add_in_a_process(location: str, barrier, results) -> None:
    from ecommerce.stores.filecache import SharedFileCache

    cache = SharedFileCache(location, {})
    barrier.wait()
    results.put(cache.add("lock", os.getpid(), timeout=10))


def test_the_file_cache_add_is_atomic_across_processes(tmp_path):
    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(8), context.Queue()
    processes = [context.Process(target=_add_in_a_process, args=(str(tmp_path), barrier, results)) for _ in range(8)]
    for process in processes:
        process.start()
    for process in processes:
        process.join(30)

    assert sorted(results.get(timeout=5) for _ in processes) == [False] * 7 + [True]


def test_an_expired_file_lock_is_taken_over(tmp_path):
    from ecommerce.stores.filecache import SharedFileCache

    cache = SharedFileCache(str(tmp_path), {})
    assert cache.add("lock", 1, timeout=0.05) is True
    assert cache.add("lock", 2, timeout=10) is False
    time.sleep(0.1)

    assert cache.add("lock", 3, timeout=10) is True
    assert cache.get("lock") == 3


def test_the_embedded_default_caches_the_catalog_in_its_data_dir(tmp_path):
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MYSQL_URL", "MONGO_URL", "REDIS_URL")}
    env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="ecommerce.settings", SECRET_KEY="x" * 50)
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "print(s.CACHES['catalog']['BACKEND'], s.CACHES['catalog']['LOCATION'], s.CATALOG_CACHE_SECONDS, "
        "s.CACHES['throttle']['BACKEND'])"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)

    assert out.stdout.split() == [
        "ecommerce.stores.filecache.SharedFileCache",
        str(tmp_path / "cache" / "catalog"),
        "60",
        "django.core.cache.backends.locmem.LocMemCache",
    ]


def test_carts_show_cached_products_but_orders_price_from_mongodb(
    shared_cache, customer_client, customer, mongo_commands
):
    mug = services.product_create(name="Mug", price=Decimal("10.00"), initial_stock=5)
    assert (
        customer_client.post(f"/api/cart/{customer.id}/items", {"product_id": mug.id, "quantity": 1}).status_code == 201
    )

    with mongo_commands.recording() as commands:
        assert customer_client.get(f"/api/cart/{customer.id}").json()["total"] == "10.00"
    assert commands == []

    # A price changed behind the API's back (no generation bump): the cart may show the
    # cached price, the order must charge the real one.
    _reprice_behind_the_api(mug.id, "12.00")
    address = {"line1": "1 Main St", "city": "Paris", "postal_code": "75001", "country": "FR"}
    order = customer_client.post("/api/orders", {"from_cart": True, "shipping_address": address})

    assert order.status_code == 201 and order.json()["total"] == "12.00"


def _use_seconds(seconds: int):
    return override_settings(CATALOG_CACHE_SECONDS=seconds)


def test_the_file_cache_stays_bounded(tmp_path):
    from ecommerce.stores.filecache import SharedFileCache

    cache = SharedFileCache(str(tmp_path), {"OPTIONS": {"MAX_ENTRIES": 200}})
    for i in range(1000):
        cache.set(f"page-{i}", b"{}", timeout=600)

    assert 100 < len(list(tmp_path.glob("*.djcache"))) <= 300


class RedisWrites:
    """The entries stored in Redis database 10 while armed, seen by MONITOR: one per
    computed answer, whichever gunicorn worker computed it (locks are SET NX, not counted)."""

    def __init__(self, url: str):
        import redis

        self.url, self.client = url, redis.Redis.from_url(url)
        self.db = self.client.connection_pool.connection_kwargs.get("db", 0)
        self.commands: list[str] = []

    def __enter__(self):
        ready = threading.Event()

        def listen():
            with self.client.monitor() as monitor:
                ready.set()
                for command in monitor.listen():
                    if command["command"] == "ECHO p10-monitor-stop":
                        return
                    if command["db"] == self.db:
                        self.commands.append(command["command"])

        self.thread = threading.Thread(target=listen)
        self.thread.start()
        ready.wait(5)
        time.sleep(0.1)
        return self

    def __exit__(self, *exc):
        self.client.echo("p10-monitor-stop")
        self.thread.join(10)

    def stored(self, fragment: str) -> int:
        return sum(
            1
            for c in self.commands
            if c.startswith("SET ") and fragment in c.split(" ", 2)[1] and ":lock:" not in c and " NX" not in c
        )


def _burst(url: str, n: int = 16) -> list:
    import requests

    barrier, answers = threading.Barrier(n), []

    def get():
        barrier.wait()
        answers.append(requests.get(url, timeout=30))

    threads = [threading.Thread(target=get) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_gunicorn_workers_past_the_freshness_serve_the_entry_and_refresh_it_once(live_server_factory):
    import redis
    import requests

    redis.Redis.from_url(REDIS).flushdb()
    server = live_server_factory(workers=4, extra_env={"REDIS_URL": REDIS, "CATALOG_CACHE_SECONDS": "2"})
    # A page slow enough to compute that every worker sees it stale before it is refreshed.
    products = [services.product_create(name=f"Lamp {i}", price=Decimal("20.00") + i) for i in range(150)]
    url = f"{server.url}/api/products?limit=100&sort=price"
    assert requests.get(url, timeout=30).json()["results"][0]["price"] == "20.00"
    _reprice_behind_the_api(products[0].id, "1.00")
    time.sleep(2.1)

    with RedisWrites(REDIS) as writes:
        answers = _burst(url)
        refreshed = _until(lambda: requests.get(url, timeout=30).json()["results"][0]["price"] == "1.00")

    assert {a.status_code for a in answers} == {200}
    assert {a.json()["results"][0]["price"] for a in answers} <= {"20.00", "1.00"}
    assert refreshed and writes.stored("/api/products?limit=100&sort=price") == 1
    redis.Redis.from_url(REDIS).flushdb()


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_gunicorn_workers_missing_one_key_together_compute_it_once(live_server_factory):
    import redis
    import requests
    from rest_framework_simplejwt.tokens import AccessToken

    from ecommerce.testing.helpers import make_user

    redis.Redis.from_url(REDIS).flushdb()
    server = live_server_factory(workers=4, extra_env={"REDIS_URL": REDIS, "CATALOG_CACHE_SECONDS": "60"})
    staff = {"Authorization": f"Bearer {AccessToken.for_user(make_user('live-staff@example.com', staff=True))}"}
    for i in range(30):
        created = requests.post(
            f"{server.url}/api/products", json={"name": f"Lamp {i}", "price": f"{20 + i}.00"}, headers=staff, timeout=30
        )
        assert created.status_code == 201
    path = "/api/products?limit=20&sort=price"

    with RedisWrites(REDIS) as writes:
        first = _burst(f"{server.url}{path}")
    assert writes.stored("/api/products?limit=20&sort=price") == 1
    assert {a.status_code for a in first} == {200} and len({a.content for a in first}) == 1

    cheapest = first[0].json()["results"][0]["id"]
    patched = requests.patch(f"{server.url}/api/products/{cheapest}", json={"price": "1.00"}, headers=staff, timeout=30)
    assert patched.status_code == 200

    with RedisWrites(REDIS) as writes:
        second = _burst(f"{server.url}{path}")
    assert writes.stored("/api/products?limit=20&sort=price") == 1
    assert {a.json()["results"][0]["price"] for a in second} == {"1.00"}
    redis.Redis.from_url(REDIS).flushdb()
