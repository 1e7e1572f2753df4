"""A client developer's view of the schema: a Python client generated with the pinned
openapi-python-client from the live schema, with no hand-work, runs the shopping journey of
client_journey.py against a live server, and the journey type-checks with `mypy --strict`
against the generated package (which must itself be clean: no cast, no `type: ignore`).
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from ecommerce.stores import mongo
from ecommerce.testing.helpers import TEST_PASSWORD, make_user

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

JOURNEY = Path(__file__).with_name("client_journey.py")
BIN = Path(sys.executable).parent
CONFIG = "project_name_override: shop-client\npackage_name_override: shop_client\npost_hooks: []\n"


@pytest.fixture(scope="module")
def generated(live_api, tmp_path_factory) -> Path:
    """The directory holding the generated `shop_client` package."""
    work = tmp_path_factory.mktemp("generated-client")
    served = requests.get(f"{live_api.url}/api/schema", params={"format": "json"}, timeout=30)
    assert served.status_code == 200
    (work / "openapi.json").write_bytes(served.content)
    (work / "config.yaml").write_text(CONFIG)
    run = subprocess.run(
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            "openapi.json",
            "--config",
            "config.yaml",
            "--meta",
            "none",
            "--output-path",
            "shop_client",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Anything the generator could not model it skips with a warning: the schema must have none.
    assert "Warning" not in output and "Unable to" not in output, output
    return work


def test_the_generated_client_runs_the_shopping_journey(live_api, generated):
    make_user("journey-staff@example.com", staff=True)

    run = subprocess.run(
        [sys.executable, str(JOURNEY), live_api.url, "journey-staff@example.com", TEST_PASSWORD],
        env={**os.environ, "PYTHONPATH": str(generated)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    made = json.loads(run.stdout.strip().splitlines()[-1])
    # What the stores hold after it: orders in PostgreSQL, stock in MySQL, documents in MongoDB.
    from inventory.models import Inventory
    from orders.models import Order
    from users.models import User

    customer = User.objects.get(pk=made["user_id"])
    assert customer.first_name == "Nora" and not customer.is_staff
    orders = {order.pk: order.status for order in Order.objects.filter(user=customer)}
    assert orders == {made["cancelled_order_id"]: "cancelled", made["paid_order_id"]: "paid"}
    stock = Inventory.objects.using("mysql").get(product_id=made["product_id"])
    assert (stock.quantity, stock.reserved) == (2, 1)  # 3 stocked, 2 cancelled back, 1 paid
    db = mongo.get_db()
    review = db.reviews.find_one({"product_id": made["product_id"], "user_id": customer.pk})
    assert review is not None and review["rating"] == 5
    assert db.wishlist_entries.count_documents({"user_id": customer.pk, "product_id": made["product_id"]}) == 1
    product = db.products.find_one({"name": "Rustic Wool Lamp"})
    assert product is not None and str(product["_id"]) == made["product_id"]


def test_the_journey_passes_mypy_strict_against_the_generated_package(generated, tmp_path):
    source = JOURNEY.read_text()
    assert not re.search(r"type: *ignore|\bcast\(|\bAny\b", source)

    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--cache-dir",
            str(tmp_path / "mypy-cache"),
            str(JOURNEY),
            str(generated / "shop_client"),
        ],
        env={**os.environ, "MYPYPATH": str(generated)},
        cwd=generated,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "Success: no issues found" in run.stdout


def test_public_reads_take_a_plain_client_and_writes_an_authenticated_one(generated):
    """openapi-python-client asks for an AuthenticatedClient wherever an operation lists security:
    the catalog's reads must not, so anonymous browsing type-checks."""
    api = generated / "shop_client" / "api"
    public = api / "products" / "api_products_list.py"
    staff_only = api / "products" / "api_products_create.py"
    no_token = api / "auth" / "api_auth_token_create.py"
    assert "client: AuthenticatedClient | Client," in public.read_text()
    assert "client: AuthenticatedClient | Client," in no_token.read_text()
    assert "client: AuthenticatedClient," in staff_only.read_text()
