"""`make run` with no configuration: SQLite for both SQL aliases, nx-27017 for the documents,
a demo shop on the first start, everything under DATA_DIR, and nothing left running after."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import requests

from ecommerce.testing.helpers import embedded_serve, wait_healthy
from ecommerce.tooling.embedded import free_port

BASE_DIR = Path(__file__).resolve().parents[2]


def _processes_mentioning(path: Path) -> list[str]:
    """Command lines of running processes that name `path` (an nx-27017 left behind)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
        except OSError:  # gone meanwhile
            continue
        if str(path) in command:
            found.append(command)
    return found


def test_serve_runs_the_shop_on_the_embedded_default(tmp_path):
    port = free_port()
    server = embedded_serve(tmp_path / "var", port)
    try:
        base = wait_healthy(server, port, timeout=180)
        health = requests.get(f"{base}/health", timeout=30)
        checks = health.json()["checks"]
        assert checks["postgres"]["engine"] == "sqlite" and checks["mysql"]["engine"] == "sqlite"
        assert checks["mongodb"]["status"] == "ok" and checks["mongodb"]["engine"] == "nx-27017"

        products = requests.get(f"{base}/api/products", timeout=10).json()
        assert products["count"] > 0, "the demo shop was not seeded"
        assert (tmp_path / "var" / "default.sqlite3").exists() and (tmp_path / "var" / "mysql.sqlite3").exists()
        assert (tmp_path / "var" / "secret_key").exists()
        email, password = (tmp_path / "var" / "admin_credentials").read_text().split()
        token = requests.post(f"{base}/api/auth/token", json={"email": email, "password": password}, timeout=10)
        assert token.status_code == 200
        _orders_on_sqlite(base, {"Authorization": f"Bearer {token.json()['access']}"}, products["results"])
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    # The embedded MongoDB went with the server.
    assert not (tmp_path / "var" / "mongo.url").exists()
    assert not _processes_mentioning(tmp_path)


def _orders_on_sqlite(base: str, staff: dict, products: list[dict]) -> None:
    """The order's hand-written SQL on SQLite: reservation, figures, order rows; a short
    line refused with nothing moved; a cancellation returns the stock."""
    mug, pen = [p["id"] for p in products if p["kind"] != "parent"][:2]

    def call(method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{base}{path}", headers=staff, timeout=30, **kwargs)

    def stock(product_id: str) -> tuple[int, int]:
        row = call("GET", f"/api/inventory/{product_id}").json()
        return row["quantity"], row["reserved"]

    for product_id in (mug, pen):
        assert call("PATCH", f"/api/inventory/{product_id}", json={"quantity": 5}).status_code == 200

    def today(product_id: str) -> tuple[int, int]:
        point = call("GET", "/api/analytics/sales", params={"product_id": product_id}).json()["series"][-1]
        return point["orders"], point["units"]

    reserved = {product_id: stock(product_id)[1] for product_id in (mug, pen)}
    sold = today(pen)
    address = {"name": "Demo", "line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}

    def order(*lines: tuple[str, int]) -> requests.Response:
        items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
        return call("POST", "/api/orders", json={"items": items, "shipping_address": address})

    placed = order((mug, 1), (pen, 2))
    assert placed.status_code == 201, placed.text
    assert sorted((item["product_id"], item["quantity"]) for item in placed.json()["items"]) == sorted(
        [(mug, 1), (pen, 2)]
    )
    assert stock(mug) == (4, reserved[mug] + 1) and stock(pen) == (3, reserved[pen] + 2)
    assert today(pen) == (sold[0] + 1, sold[1] + 2)

    short = order((mug, 1), (pen, 4))
    assert short.status_code == 409, short.text
    assert short.json()["error"]["details"]["items"] == [{"product_id": pen, "requested": 4, "available": 3}]
    assert stock(mug) == (4, reserved[mug] + 1) and stock(pen) == (3, reserved[pen] + 2)

    # The day's rows exist now: the figures' two statements, not the rows' creation.
    again = order((pen, 1))
    assert again.status_code == 201, again.text
    assert today(pen) == (sold[0] + 2, sold[1] + 3)

    for order in (placed, again):
        assert call("POST", f"/api/orders/{order.json()['id']}/cancel").status_code == 200
    assert stock(mug) == (5, reserved[mug]) and stock(pen) == (5, reserved[pen])
    assert today(pen) == sold


def test_serve_stops_its_mongodb_when_start_up_fails(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in {"MONGO_URL", "SECRET_KEY"}}
    # A real database URL and no SECRET_KEY with DEBUG off: the settings refuse to load.
    env.update(DATA_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="ecommerce.settings", DEBUG="0")
    env["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/ecommerce"

    failed = subprocess.run(
        [sys.executable, "-m", "ecommerce.tooling.serve"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert failed.returncode != 0 and "SECRET_KEY is not set" in failed.stderr
    assert not (tmp_path / "var" / "mongo.url").exists()
    assert not _processes_mentioning(tmp_path)
