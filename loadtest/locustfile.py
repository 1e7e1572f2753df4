"""The shop's traffic for Locust: mostly anonymous browsing, some shoppers, a few staff.

    locust -f loadtest/locustfile.py --host http://localhost:8080

Every response is checked (status and a field), not just counted. Expected business
answers are successes: `out_of_stock` at checkout, a review already written, an order
that another task already cancelled. Requests are named by endpoint group
(`/api/products/[id]`), so the report has one row per route, not per id.

Staff credentials come from LOCUST_STAFF_EMAIL / LOCUST_STAFF_PASSWORD (the seed's
SEED_ADMIN_EMAIL / SEED_ADMIN_PASSWORD); without them the staff users stay idle.
"""

import json
import os
import random
import threading
import time
import uuid
from collections import deque

from locust import FastHttpUser, between, task
from locust.exception import StopUser

PASSWORD = "Load-Test-Passw0rd!"  # noqa: S105 - the load test's throwaway shoppers
SEARCH_TERMS = ["lamp", "steel", "cotton", "wireless", "oak", "pro", "mini", "classic", "eco", "set"]
SHIPPING = {"name": "Load Tester", "line1": "1 Test Street", "city": "Berlin", "postal_code": "10115", "country": "DE"}

_catalog_lock = threading.Lock()
# products: what listings show (standalone products and parents); parents: those with variants;
# buyable: what is bought by its own id (standalone products and the parents' active variants).
_catalog: dict[str, list] = {"products": [], "parents": [], "buyable": [], "categories": [], "tags": []}


def _load_catalog(client) -> None:
    """Product, variant and category ids for the users to pick from, read once per process."""
    with _catalog_lock:
        if _catalog["products"]:
            return
        products, offset = [], 0
        while offset < 500:
            with client.get(
                f"/api/products?limit=100&offset={offset}", name="setup: /api/products", catch_response=True
            ) as response:
                if response.status_code != 200:
                    response.failure(f"catalog not readable: {response.status_code}")
                    raise StopUser()
                page = response.json()
            products += page["results"]
            if not page["next"]:
                break
            offset += 100
        with client.get("/api/categories?limit=100", name="setup: /api/categories", catch_response=True) as response:
            categories = response.json()["results"] if response.status_code == 200 else []
        _catalog["products"] = [p["id"] for p in products]
        _catalog["parents"] = [p["id"] for p in products if p.get("kind") == "parent" and p.get("variants")]
        _catalog["buyable"] = [p["id"] for p in products if p.get("kind", "standalone") == "standalone"] + [
            v["id"] for p in products if p.get("kind") == "parent" for v in p.get("variants", [])
        ]
        _catalog["categories"] = [c["id"] for c in categories]
        _catalog["tags"] = sorted({tag for p in products for tag in p.get("tags", [])}) or ["sale"]
        if not _catalog["products"]:
            raise StopUser()


_staff_lock = threading.Lock()
_staff_token: dict = {"access": None, "until": 0.0}
# Payments the shoppers of this process saw captured, newest last: what staff refund first
# (a paid order found by listing may have been marked paid by staff, with no payment).
_captured_payments: deque = deque(maxlen=100)


def _staff_headers(client) -> dict | None:
    """A staff token for the test provider's simulated webhooks (POST /api/payments/[id]/simulate),
    one per process, renewed before it expires; None without staff credentials."""
    email, password = os.environ.get("LOCUST_STAFF_EMAIL"), os.environ.get("LOCUST_STAFF_PASSWORD")
    if not (email and password):
        return None
    with _staff_lock:
        if time.monotonic() > _staff_token["until"]:
            with client.post(
                "/api/auth/token",
                json={"email": email, "password": password},
                name="/api/auth/token",
                catch_response=True,
            ) as r:
                tokens = _expect(r, (200,), "access")
            if tokens is None:
                return None
            _staff_token.update(access=tokens["access"], until=time.monotonic() + 10 * 60)
        return {"Authorization": f"Bearer {_staff_token['access']}"}


def _expect(response, statuses: tuple[int, ...], field: str | None = None) -> dict | None:
    """Mark the response a failure unless its status is expected and `field` is in the body."""
    if response.status_code not in statuses:
        response.failure(f"status {response.status_code}: {response.text[:200] if response.text else ''}")
        return None
    if response.status_code == 204:
        response.success()
        return {}
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        response.failure("body is not JSON")
        return None
    if field and response.status_code < 300 and field not in body:
        response.failure(f"no {field!r} in the body")
        return None
    response.success()
    return body


class Browser(FastHttpUser):
    """An anonymous visitor: lists, filters, searches, reads products and their reviews."""

    weight = 7
    wait_time = between(0.5, 2)

    def on_start(self):
        _load_catalog(self.client)

    @task(4)
    def list_products(self):
        sort = random.choice(["-created_at", "price", "-price", "name"])
        with self.client.get(f"/api/products?sort={sort}", name="/api/products", catch_response=True) as r:
            _expect(r, (200,), "results")

    @task(2)
    def filter_products(self):
        query = random.choice(
            [
                f"category_id={random.choice(_catalog['categories'])}" if _catalog["categories"] else "min_price=5",
                f"min_price={random.randint(1, 50)}&max_price={random.randint(60, 500)}",
                f"tag={random.choice(_catalog['tags'])}",
            ]
        )
        with self.client.get(f"/api/products?{query}", name="/api/products?filter", catch_response=True) as r:
            _expect(r, (200,), "results")

    @task(2)
    def search(self):
        term = random.choice(SEARCH_TERMS)
        with self.client.get(f"/api/products/search?q={term}", name="/api/products/search", catch_response=True) as r:
            _expect(r, (200,), "results")

    @task(5)
    def product_detail(self):
        product_id = random.choice(_catalog["products"])
        # A product deleted by staff meanwhile is a 404, and that is the right answer.
        with self.client.get(f"/api/products/{product_id}", name="/api/products/[id]", catch_response=True) as r:
            _expect(r, (200, 404), "price")

    @task(3)
    def pick_a_variant(self):
        """Open a parent (its variants with their stock), then the variant a visitor would pick:
        one in stock when there is one."""
        if not _catalog["parents"]:
            return
        parent_id = random.choice(_catalog["parents"])
        with self.client.get(f"/api/products/{parent_id}", name="/api/products/[parent]", catch_response=True) as r:
            parent = _expect(r, (200, 404), "variants")
        variants = (parent or {}).get("variants") or []
        if not variants:
            return
        in_stock = [v for v in variants if v["in_stock"]]
        variant = random.choice(in_stock or variants)
        with self.client.get(
            f"/api/products/{variant['id']}", name="/api/products/[variant]", catch_response=True
        ) as r:
            chosen = _expect(r, (200, 404), "options")
            if chosen and chosen.get("parent_id") != parent_id:
                r.failure("the variant names another parent")

    @task(2)
    def product_reviews(self):
        product_id = random.choice(_catalog["products"])
        with self.client.get(
            f"/api/reviews/product/{product_id}?sort={random.choice(['recent', 'helpful'])}",
            name="/api/reviews/product/[id]",
            catch_response=True,
        ) as r:
            _expect(r, (200, 404), "results")

    @task(1)
    def categories(self):
        with self.client.get("/api/categories", name="/api/categories", catch_response=True) as r:
            _expect(r, (200,), "results")


class _SignedIn:
    """A user with a JWT pair; the access token is refreshed before it expires (15 minutes
    by default), so runs of any length stay signed in."""

    REFRESH_AFTER_SECONDS = 10 * 60

    def _post_patiently(self, path: str, body: dict, *, expect: int, field: str) -> dict:
        """Sign-ups and logins from one load generator meet the per-address limits: a 429
        is the shop protecting itself, so wait as told (Retry-After) and try again."""
        for _ in range(6):
            with self.client.post(path, json=body, name=path, catch_response=True) as r:
                if r.status_code == 429:
                    r.success()
                    time.sleep(min(60, int(r.headers.get("Retry-After", "5"))))
                    continue
                answer = _expect(r, (expect,), field)
            if answer is None:
                raise StopUser()
            return answer
        raise StopUser()

    def _log_in(self, email: str, password: str) -> None:
        tokens = self._post_patiently(
            "/api/auth/token", {"email": email, "password": password}, expect=200, field="access"
        )
        self._tokens(tokens["access"], tokens["refresh"])

    def _tokens(self, access: str, refresh: str) -> None:
        self._access, self._refresh = access, refresh
        self._refresh_at = time.monotonic() + self.REFRESH_AFTER_SECONDS

    @property
    def headers(self) -> dict:
        if time.monotonic() > self._refresh_at:
            with self.client.post(
                "/api/auth/token/refresh",
                json={"refresh": self._refresh},
                name="/api/auth/token/refresh",
                catch_response=True,
            ) as r:
                tokens = _expect(r, (200,), "access")
            if tokens is None:
                raise StopUser()
            self._tokens(tokens["access"], self._refresh)
        return {"Authorization": f"Bearer {self._access}"}


class Shopper(_SignedIn, FastHttpUser):
    """A customer: registers, fills a cart, checks out with an Idempotency-Key, reviews."""

    weight = 3
    wait_time = between(1, 3)

    def on_start(self):
        _load_catalog(self.client)
        self.email = f"load-{uuid.uuid4().hex[:16]}@example.com"
        body = {"email": self.email, "password": PASSWORD, "first_name": "Load", "last_name": "Shopper"}
        user = self._post_patiently("/api/users", body, expect=201, field="id")
        self.user_id = user["id"]
        self._log_in(self.email, PASSWORD)
        self.order_ids: list[int] = []

    def _product(self) -> str:
        """What shoppers buy: a standalone product or a variant (a parent is never bought)."""
        return random.choice(_catalog["buyable"] or _catalog["products"])

    @task(4)
    def add_to_cart(self):
        with self.client.post(
            f"/api/cart/{self.user_id}/items",
            json={"product_id": self._product(), "quantity": random.randint(1, 2)},
            headers=self.headers,
            name="/api/cart/[user]/items",
            catch_response=True,
        ) as r:
            # 400: the product was deactivated or deleted by staff meanwhile.
            _expect(r, (201, 400), "items")

    @task(3)
    def view_cart(self):
        with self.client.get(
            f"/api/cart/{self.user_id}", headers=self.headers, name="/api/cart/[user]", catch_response=True
        ) as r:
            _expect(r, (200,), "total")

    @task(2)
    def checkout(self):
        key = uuid.uuid4().hex
        headers = {**self.headers, "Idempotency-Key": key}
        body = {"from_cart": True, "shipping_address": SHIPPING}
        with self.client.post("/api/orders", json=body, headers=headers, name="/api/orders", catch_response=True) as r:
            # 409 out_of_stock is the shop saying no, not the shop failing; 400: an empty cart.
            order = _expect(r, (201, 400, 409), "id")
        if order and "id" in order:
            self.order_ids.append(order["id"])
            if random.random() < 0.8:
                self._pay(order["id"])
            if random.random() < 0.2:
                # A client retrying after a lost response gets the same order, not a second one.
                with self.client.post(
                    "/api/orders", json=body, headers=headers, name="/api/orders (replay)", catch_response=True
                ) as replay:
                    again = _expect(replay, (201,), "id")
                    if again is not None and again.get("id") != order["id"]:
                        replay.failure("an idempotent replay created another order")

    @task(1)
    def buy_now(self):
        body = {"items": [{"product_id": self._product(), "quantity": 1}], "shipping_address": SHIPPING}
        headers = {**self.headers, "Idempotency-Key": uuid.uuid4().hex}
        with self.client.post("/api/orders", json=body, headers=headers, name="/api/orders", catch_response=True) as r:
            order = _expect(r, (201, 400, 409), "id")
        if order and "id" in order:
            self.order_ids.append(order["id"])
            if random.random() < 0.8:
                self._pay(order["id"])

    def _pay(self, order_id: int) -> None:
        """Pay the order through the test provider: open the payment (its Idempotency-Key per order,
        so a retry finds the same payment), then the provider's signed capture webhook."""
        headers = {**self.headers, "Idempotency-Key": f"pay-{order_id}"}
        with self.client.post(
            f"/api/orders/{order_id}/payments",
            json={"provider": "test"},
            headers=headers,
            name="/api/orders/[id]/payments",
            catch_response=True,
        ) as r:
            # 409: paid, cancelled or shipped meanwhile (invalid_transition), or being paid (conflict);
            # 400: the server has no test provider (PAYMENTS_TEST_PROVIDER off), nothing to pay with.
            payment = _expect(r, (201, 400, 409), "id")
        staff = _staff_headers(self.client)
        if not payment or payment.get("status") != "requires_confirmation" or staff is None:
            return
        with self.client.post(
            f"/api/payments/{payment['id']}/simulate",
            json={"event": "captured"},
            headers=staff,
            name="/api/payments/[id]/simulate",
            catch_response=True,
        ) as r:
            simulated = _expect(r, (200,), "status")
        if simulated and simulated["status"] == "captured":
            _captured_payments.append(payment["id"])

    @task(2)
    def my_orders(self):
        with self.client.get("/api/orders", headers=self.headers, name="/api/orders (list)", catch_response=True) as r:
            _expect(r, (200,), "results")

    @task(1)
    def cancel_an_order(self):
        if not self.order_ids:
            return
        order_id = self.order_ids.pop(random.randrange(len(self.order_ids)))
        with self.client.post(
            f"/api/orders/{order_id}/cancel", headers=self.headers, name="/api/orders/[id]/cancel", catch_response=True
        ) as r:
            # 409: staff shipped it meanwhile.
            _expect(r, (200, 409), "status")

    @task(1)
    def wishlist(self):
        with self.client.post(
            f"/api/wishlist/{self.user_id}/items",
            json={"product_id": self._product()},
            headers=self.headers,
            name="/api/wishlist/[user]/items",
            catch_response=True,
        ) as r:
            _expect(r, (200, 201, 400), "items")
        with self.client.get(
            f"/api/wishlist/{self.user_id}", headers=self.headers, name="/api/wishlist/[user]", catch_response=True
        ) as r:
            _expect(r, (200,), "items")

    @task(1)
    def review(self):
        body = {"product_id": self._product(), "rating": random.randint(1, 5), "title": "Load test", "body": "Fine."}
        with self.client.post(
            "/api/reviews", json=body, headers=self.headers, name="/api/reviews", catch_response=True
        ) as r:
            # 409: this shopper already reviewed the product.
            _expect(r, (201, 400, 409), "id")


class Staff(_SignedIn, FastHttpUser):
    """A few staff: restock what runs low, move orders along, read the analytics."""

    weight = 1
    fixed_count = 1
    wait_time = between(2, 5)

    def on_start(self):
        email = os.environ.get("LOCUST_STAFF_EMAIL")
        password = os.environ.get("LOCUST_STAFF_PASSWORD")
        if not (email and password):
            raise StopUser()
        self._log_in(email, password)

    @task(2)
    def restock_low_stock(self):
        with self.client.get(
            "/api/inventory/low-stock", headers=self.headers, name="/api/inventory/low-stock", catch_response=True
        ) as r:
            rows = (_expect(r, (200,), "results") or {}).get("results", [])
        for row in rows[:3]:
            with self.client.post(
                f"/api/inventory/{row['product_id']}/restock",
                json={"quantity": 50},
                headers=self.headers,
                name="/api/inventory/[id]/restock",
                catch_response=True,
            ) as r:
                _expect(r, (200, 404), "quantity")

    @task(2)
    def advance_orders(self):
        with self.client.get(
            "/api/orders?status=pending", headers=self.headers, name="/api/orders?status", catch_response=True
        ) as r:
            orders = (_expect(r, (200,), "results") or {}).get("results", [])
        for order in orders[:2]:
            with self.client.patch(
                f"/api/orders/{order['id']}/status",
                json={"status": "paid"},
                headers=self.headers,
                name="/api/orders/[id]/status",
                catch_response=True,
            ) as r:
                # 409: the customer cancelled it meanwhile.
                _expect(r, (200, 409), "status")

    @task(2)
    def refund_a_payment(self):
        """Give back part of a paid order's payment, as staff do for a damaged item: one seen
        captured, else one found among a few paid orders."""
        if _captured_payments:
            self._refund(_captured_payments.popleft())
            return
        with self.client.get(
            "/api/orders?status=paid", headers=self.headers, name="/api/orders?status", catch_response=True
        ) as r:
            orders = (_expect(r, (200,), "results") or {}).get("results", [])
        # A paid order may have no captured payment (staff marked it paid): look at a few.
        for order in random.sample(orders, min(len(orders), 5)):
            if self._refund_one(order["id"]):
                return

    def _refund_one(self, order_id: int) -> bool:
        """Refund 1.00 of the order's captured payment; False when it has none."""
        with self.client.get(
            f"/api/orders/{order_id}/payments",
            headers=self.headers,
            name="/api/orders/[id]/payments (list)",
            catch_response=True,
        ) as r:
            payments = _expect(r, (200,)) or []
        for payment in payments:
            if payment["status"] in ("captured", "partially_refunded"):
                self._refund(payment["id"])
                return True
        return False

    def _refund(self, payment_id) -> None:
        """Refund 1.00 of a captured payment."""
        with self.client.post(
            f"/api/payments/{payment_id}/refunds",
            json={"amount": "1.00", "reason": "load test"},
            headers={**self.headers, "Idempotency-Key": uuid.uuid4().hex},
            name="/api/payments/[id]/refunds",
            catch_response=True,
        ) as r:
            # 409 refund_exceeds_captured: refunded (or cancelled and refunded) meanwhile.
            _expect(r, (201, 409), "id")

    @task(1)
    def analytics(self):
        for path, field in (
            ("/api/analytics/revenue", "net"),
            ("/api/analytics/sales", "series"),
            ("/api/analytics/popular-products", "results"),
        ):
            with self.client.get(path, headers=self.headers, name=path, catch_response=True) as r:
                _expect(r, (200,), field)
