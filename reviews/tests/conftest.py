from decimal import Decimal

import pytest
from pymongo import MongoClient, monitoring

from catalog import services as catalog_services
from ecommerce.stores import mongo

_DATA_COMMANDS = {"find", "count", "aggregate", "insert", "update", "delete", "findAndModify", "getMore", "distinct"}


@pytest.fixture
def make_product():
    def make(name: str = "Kettle", price: str = "25.00", **fields):
        return catalog_services.product_create(name=name, price=Decimal(price), **fields)

    return make


@pytest.fixture
def product(make_product):
    return make_product()


class CommandCounter(monitoring.CommandListener):
    """Counts the MongoDB data commands (round trips) the code under test sends."""

    def __init__(self):
        self.commands: list[str] = []

    def started(self, event):
        if event.command_name in _DATA_COMMANDS:
            self.commands.append(event.command_name)

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass

    def reset(self):
        self.commands.clear()


@pytest.fixture
def mongo_commands(monkeypatch):
    """Route this test's MongoDB traffic through a client that counts every command."""
    counter = CommandCounter()
    client = MongoClient(mongo.mongo_url(), tz_aware=True, event_listeners=[counter])
    monkeypatch.setattr(mongo, "get_client", lambda: client)
    yield counter
    monkeypatch.undo()
    client.close()
