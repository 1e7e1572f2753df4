import pytest

from payments.tests.factories import STRIPE_WEBHOOK_SECRET, WEBHOOK_SECRET
from payments.tests.stripe_stub import StripeStub


@pytest.fixture(autouse=True)
def _test_provider(settings):
    """The test provider on, with a secret the tests sign with."""
    settings.PAYMENTS_TEST_PROVIDER = True
    settings.PAYMENTS_WEBHOOK_SECRET = WEBHOOK_SECRET


@pytest.fixture
def stripe_stub(settings):
    """Stripe configured, its library pointed at a local stand-in of the API."""
    stub = StripeStub().start()
    settings.STRIPE_SECRET_KEY = "sk_test_not-a-secret"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.STRIPE_API_BASE = stub.url
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def payments_api(live_server_factory):
    """gunicorn (3 workers) with the test provider on and a known webhook secret."""
    return live_server_factory(
        workers=3, extra_env={"PAYMENTS_TEST_PROVIDER": "1", "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET}
    )
