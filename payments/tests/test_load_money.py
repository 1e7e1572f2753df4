"""A short headless Locust run that pays through the test provider and refunds: no failure, and
afterwards the money balances (reconcile_payments --check) as well as the books."""

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


def test_a_load_run_that_pays_and_refunds_leaves_the_money_balanced(live_server_factory, tmp_path):
    call_command("seed", "--products", "40", "--users", "5", "--orders", "30", "--no-admin", "--seed", "3")
    staff = make_user("load-staff@example.com", staff=True)
    server = live_server_factory(
        workers=2, extra_env={"PAYMENTS_TEST_PROVIDER": "1", "PAYMENTS_WEBHOOK_SECRET": WEBHOOK_SECRET}
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
    with (tmp_path / "locust_stats.csv").open() as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    assert int(rows["Aggregated"]["Failure Count"]) == 0
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
