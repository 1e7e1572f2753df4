"""Fixtures for the whole suite: the real stores, users and authenticated clients.

PostgreSQL and MariaDB come from DATABASE_URL / MYSQL_URL (pytest-django makes
`test_<name>` databases); MongoDB is an nx-27017 started for the session, or
MONGO_URL when set (then a database of its own per run). Every test starts with
empty MongoDB collections.
"""

import os
import tempfile
from pathlib import Path

import pytest
from django.conf import settings

from ecommerce.stores import mongo
from ecommerce.testing.helpers import LiveServer, client_for, make_user
from ecommerce.tooling.embedded import EmbeddedMongo


@pytest.fixture(scope="session", autouse=True)
def mongo_server():
    server = None
    if os.environ.get("MONGO_URL"):
        base = os.environ["MONGO_URL"].rsplit("/", 1)[0]
        url = f"{base}/test_ecommerce_{os.getpid()}"
    else:
        server = EmbeddedMongo(run_dir=Path(tempfile.mkdtemp(prefix="nx-27017-")), database="test_ecommerce").start()
        url = server.url
    settings.MONGO_URL = url
    mongo.reset_client()
    mongo.ensure_indexes()
    yield url
    if server is None:
        mongo.get_client().drop_database(mongo.get_db().name)
    mongo.reset_client()
    if server is not None:
        server.stop()


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters are per test: one test's logins must not rate-limit the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _empty_mongo(mongo_server):
    yield
    db = mongo.get_db()
    for name in db.list_collection_names():
        db[name].delete_many({})


@pytest.fixture
def customer(db):
    return make_user("customer@example.com", first_name="Cathy", last_name="Customer")


@pytest.fixture
def other_customer(db):
    return make_user("other@example.com", first_name="Oscar", last_name="Other")


@pytest.fixture
def staff(db):
    return make_user("staff@example.com", staff=True, first_name="Sam", last_name="Staff")


@pytest.fixture
def anon_client():
    return client_for(None)


@pytest.fixture
def customer_client(customer):
    return client_for(customer)


@pytest.fixture
def other_client(other_customer):
    return client_for(other_customer)


@pytest.fixture
def staff_client(staff):
    return client_for(staff)


@pytest.fixture(scope="session")
def live_server_factory(django_db_setup, django_db_blocker, mongo_server):
    """Start gunicorn servers on the test databases; use from `transaction=True` tests."""
    servers = []

    def start(**kwargs) -> LiveServer:
        server = LiveServer(**kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def live_api(live_server_factory):
    """One gunicorn server with three sync workers, shared by the session."""
    return live_server_factory(workers=3)
