"""schemathesis against the payments operations with the test provider on (the whole-API fuzz
runs with it off): no 5xx, no undocumented status, every body as the schema says."""

import subprocess
import tempfile

import pytest
import requests
from rest_framework_simplejwt.tokens import AccessToken

from ecommerce.testing.helpers import make_user
from ecommerce.tooling import fuzz
from orders.tests.factories import order_body, product
from payments.tests.factories import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


@pytest.mark.parametrize("role", ["staff", "customer"])
def test_schemathesis_finds_nothing_in_payments(live_server_factory, role):
    server = live_server_factory(
        workers=2, extra_env={"PAYMENTS_TEST_PROVIDER": "1", "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET}
    )
    user = make_user(f"fuzz-{role}@example.com", staff=role == "staff")
    client_token = str(AccessToken.for_user(user))
    # Orders to pay, so that ids the fuzzer tries can exist.
    for _ in range(3):
        requests.post(
            f"{server.url}/api/orders",
            json=order_body((product(stock=50), 1)),
            headers={"Authorization": f"Bearer {client_token}"},
            timeout=30,
        )
    command = fuzz.schemathesis_command(server.url, client_token, max_time=15) + [
        "--include-path-regex",
        "payments",
    ]
    with tempfile.TemporaryDirectory(prefix="schemathesis-") as workdir:
        run = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=240)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-8000:]
    # The five payments operations: the order's payments (GET, POST), refunds, simulate, webhooks.
    assert "Tested: 5" in output, output[-3000:]
