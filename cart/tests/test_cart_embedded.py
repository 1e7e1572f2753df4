"""Adding to a cart on the embedded default (`make run` with nothing configured: SQLite), where
the add takes the portable path: concurrent adds through two gunicorn workers lose nothing
and the line cap holds."""

import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor

import requests

from ecommerce.testing.helpers import embedded_serve, wait_healthy
from ecommerce.tooling.embedded import free_port


def test_concurrent_adds_on_sqlite_lose_nothing_and_stop_at_1000_units(tmp_path):
    port = free_port()
    server = embedded_serve(tmp_path / "var", port, env={"THROTTLE_ENABLED": "0"})
    try:
        base = wait_healthy(server, port)
        email, password = (tmp_path / "var" / "admin_credentials").read_text().split()
        token = requests.post(f"{base}/api/auth/token", json={"email": email, "password": password}, timeout=10)
        headers = {"Authorization": f"Bearer {token.json()['access']}"}
        me = requests.get(f"{base}/api/users/me", headers=headers, timeout=10).json()["id"]
        listed = requests.get(f"{base}/api/products?limit=20", timeout=10).json()["results"]
        first, second = [p["id"] for p in listed if p["kind"] == "standalone"][:2]

        def post(body: dict) -> int:
            return requests.post(f"{base}/api/cart/{me}/items", json=body, headers=headers, timeout=60).status_code

        bodies = [{"product_id": first, "quantity": 1}] * 10 + [{"product_id": second, "quantity": 495}] * 3
        with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
            statuses = list(pool.map(post, bodies))
        cart = requests.get(f"{base}/api/cart/{me}", headers=headers, timeout=10).json()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0

    # Two of the three 495-unit adds fit in a line (990); the third would pass 1000.
    assert sorted(statuses) == [201] * 12 + [400]
    assert {i["product_id"]: i["quantity"] for i in cart["items"]} == {first: 10, second: 990}
    with sqlite3.connect(tmp_path / "var" / "default.sqlite3") as db:
        rows = db.execute("SELECT product_id, quantity FROM cart_cartitem WHERE user_id = ?", [me]).fetchall()
    assert dict(rows) == {first: 10, second: 990}
