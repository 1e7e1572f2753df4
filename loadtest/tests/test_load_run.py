"""A short headless Locust run against a live server, rate limits on and paying through the
test provider: reports written, no failure, and afterwards the books balance
(reconcile_orders --check, run by loadtest.run) and so does the money (reconcile_payments
--check): payments captured and refunds made under load."""

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from ecommerce.testing.helpers import TEST_PASSWORD, make_user
from payments.models import Payment, Refund
from payments.selectors import money_check
from payments.tests.factories import WEBHOOK_SECRET

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)
BASE_DIR = Path(__file__).resolve().parents[2]


def test_short_load_run_has_no_failures_and_the_books_and_the_money_balance(live_server_factory, tmp_path):
    call_command("seed", "--products", "40", "--users", "5", "--orders", "30", "--no-admin", "--seed", "3")
    staff = make_user("load-staff@example.com", staff=True)
    # Rate limits on, as `make run` serves: the run must pass without switching them off.
    server = live_server_factory(
        workers=2,
        extra_env={
            "THROTTLE_ENABLED": "1",
            "PAYMENTS_TEST_PROVIDER": "1",
            "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET,
        },
    )
    env = server.env() | {
        "HOST": server.url,
        "USERS": "10",
        "SPAWN_RATE": "5",
        "RUN_TIME": "30s",
        "REPORT_DIR": str(tmp_path),
        "CHECK_BOOKS": "1",
        "MAX_P95_MS": "5000",
        "MAX_ERROR_RATE": "0",
        "LOCUST_STAFF_EMAIL": staff.email,
        "LOCUST_STAFF_PASSWORD": TEST_PASSWORD,
    }

    run = subprocess.run(
        [sys.executable, "-m", "loadtest.run"], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=240
    )

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert (tmp_path / "locust.html").stat().st_size > 0
    with (tmp_path / "locust_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["Aggregated"]["Request Count"]) > 50
    assert int(rows["Aggregated"]["Failure Count"]) == 0
    assert {"/api/products", "/api/products/[id]", "/api/orders", "/api/cart/[user]/items"} <= rows.keys()
    assert "books balance" in run.stdout and "PASS" in run.stdout

    assert int(rows["/api/payments/[id]/simulate"]["Request Count"]) > 0
    assert Payment.objects.filter(captured__gt=0).exists()
    assert Refund.objects.filter(status="succeeded").exists()
    assert money_check() == []
    check = subprocess.run(
        [sys.executable, "manage.py", "reconcile_payments", "--check"],
        cwd=BASE_DIR,
        env=server.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert check.returncode == 0 and "The money balances." in check.stdout, check.stdout + check.stderr
