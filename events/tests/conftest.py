import pytest

from events.tests.support import Receiver


@pytest.fixture(autouse=True)
def _private_webhooks_allowed(settings):
    """The receivers are on 127.0.0.1: allowed here as WEBHOOKS_ALLOW_PRIVATE=1 does in development."""
    settings.WEBHOOKS_ALLOW_PRIVATE = True


@pytest.fixture
def receiver():
    receiver = Receiver()
    yield receiver
    receiver.close()
