"""Abuse limits (OWASP API4 and API2): logins and registrations throttled per address and per
account, page sizes capped, bodies capped at 1 MiB, every number and string of a write bounded
(a 400 naming the field, never a 500), passwords hashed with Argon2 in production, short JWT
lifetimes, and no account enumeration through login."""

import json
import os
import subprocess
import sys
import warnings
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.cache.backends.base import CacheKeyWarning
from django.test import override_settings
from django.utils import timezone
from rest_framework.throttling import SimpleRateThrottle
from rest_framework_simplejwt.tokens import AccessToken

import ecommerce.settings as production_settings
from cart import services as cart_services
from cart.models import CartItem
from catalog import repository as catalog_repository
from catalog import services as catalog_services
from catalog.tests.factories import insert_products
from ecommerce.api.throttling import RateThrottle
from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from ecommerce.testing.helpers import BASE_DIR, TEST_PASSWORD, client_for, make_user
from inventory.models import Inventory
from orders import services as order_services
from orders.models import Order
from reviews import repository as reviews_repository
from reviews import services as reviews_services
from users.models import User
from users.throttles import LoginFailuresPerAccountAddress

pytestmark = pytest.mark.django_db(databases="__all__")

ADDRESS = {"line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
MIB = 1024 * 1024
WRONG_PASSWORD = "wrong-Passw0rd"
HOUR_START = 1_000_000 * 3600.0  # a moment that starts a minute's and an hour's window alike


@pytest.fixture(autouse=True)
def _fresh_counters(monkeypatch):
    """Throttle counters live in the cache: every test starts and ends with none. The clock
    stands still at the start of an hour (a test that needs it to move sets its own), so no
    test's attempts straddle two of the failure throttles' fixed windows."""
    monkeypatch.setattr(RateThrottle, "timer", staticmethod(lambda: HOUR_START))
    cache.clear()
    yield
    cache.clear()


def _rate(scope: str) -> int:
    """How many requests a throttle scope allows per window, from the settings."""
    allowed, _ = SimpleRateThrottle.parse_rate(None, settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][scope])
    return allowed


def _login(email: str, secret: str = WRONG_PASSWORD, ip: str = "10.0.0.1", **headers):
    return client_for(None).post(
        "/api/auth/token", {"email": email, "password": secret}, format="json", REMOTE_ADDR=ip, **headers
    )


def _register(n: int, ip: str = "10.0.0.1", **headers):
    body = {"email": f"new{n}@example.com", "password": "An0ther-Str0ng-Pass!"}
    return client_for(None).post("/api/users", body, format="json", REMOTE_ADDR=ip, **headers)


def _assert_rate_limited(response) -> None:
    assert response.status_code == 429, response.content
    assert response.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= 60


# --- throttles ---------------------------------------------------------------------------


@override_settings(THROTTLE_ENABLED=True)
def test_login_is_throttled_per_address_whatever_the_account(customer):
    allowed = _rate("login_ip")
    # Each attempt names another account, so only the per-address limit can stop them.
    answers = [_login(f"guess{n}@example.com").status_code for n in range(allowed)]

    assert answers == [401] * allowed
    _assert_rate_limited(_login("guess-last@example.com"))
    # A forged X-Forwarded-For is not a new address (NUM_PROXIES=0 trusts REMOTE_ADDR only).
    _assert_rate_limited(_login("guess-xff@example.com", HTTP_X_FORWARDED_FOR="203.0.113.9"))
    # The right password does not get through either while the address is limited.
    _assert_rate_limited(_login(customer.email, TEST_PASSWORD))
    assert _login(customer.email, TEST_PASSWORD, ip="10.0.0.2").status_code == 200


@override_settings(THROTTLE_ENABLED=True)
def test_login_failures_are_limited_per_account_and_address(customer, other_customer):
    allowed = _rate("login_account")
    assert allowed < _rate("login_ip")
    answers = [_login(customer.email, ip="10.0.1.1").status_code for _ in range(allowed)]

    assert answers == [401] * allowed
    # Spelling the address differently is the same account.
    _assert_rate_limited(_login("  CUSTOMER@Example.com", ip="10.0.1.1"))
    _assert_rate_limited(_login(customer.email, TEST_PASSWORD, ip="10.0.1.1"))
    # The address still has budget for other accounts.
    assert _login(other_customer.email, TEST_PASSWORD, ip="10.0.1.1").status_code == 200


@override_settings(THROTTLE_ENABLED=True)
def test_strangers_guessing_from_many_addresses_cannot_lock_the_owner_out(customer, staff):
    for victim in (customer, staff):
        for n in range(5):
            address = f"10.0.{n}.66"
            answers = [_login(victim.email, ip=address).status_code for _ in range(_rate("login_account"))]
            assert answers == [401] * _rate("login_account")
            _assert_rate_limited(_login(victim.email, ip=address))

    # From their own address, the owners (staff included) sign in as usual.
    assert _login(customer.email, TEST_PASSWORD, ip="10.0.9.9").status_code == 200
    assert _login(staff.email, TEST_PASSWORD, ip="10.0.9.10").status_code == 200


@override_settings(THROTTLE_ENABLED=True)
def test_attempts_the_address_limit_refused_do_not_count_against_the_account(customer, monkeypatch):
    # The account's window outlasts the address's: what it counted would still show after.
    monkeypatch.setattr(LoginFailuresPerAccountAddress, "rate", f"{_rate('login_account')}/hour", raising=False)
    start = HOUR_START  # both windows start here
    monkeypatch.setattr(RateThrottle, "timer", staticmethod(lambda: start))
    for n in range(_rate("login_ip")):
        assert _login(f"guess{n}@example.com", ip="10.0.3.3").status_code == 401
    for _ in range(3 * _rate("login_account")):
        _assert_rate_limited(_login(customer.email, ip="10.0.3.3"))

    # A minute later the address's window has passed; the account's has not: had the refused
    # guesses counted, the account would still be limited from this address.
    monkeypatch.setattr(RateThrottle, "timer", staticmethod(lambda: start + 61))
    answers = [_login(customer.email, ip="10.0.3.3").status_code for _ in range(_rate("login_account"))]
    assert answers == [401] * _rate("login_account")
    limited = _login(customer.email, ip="10.0.3.3")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) == 3600 - 61  # the rest of the account's hour


@override_settings(THROTTLE_ENABLED=True)
def test_successful_logins_are_not_counted(customer):
    answers = {_login(customer.email, TEST_PASSWORD, ip="10.0.4.4").status_code for _ in range(_rate("login_ip") + 5)}

    assert answers == {200}


@override_settings(THROTTLE_ENABLED=True)
def test_registration_is_throttled_per_address():
    allowed = _rate("register_ip")
    answers = [_register(n).status_code for n in range(allowed)]

    assert answers == [201] * allowed
    _assert_rate_limited(_register(100))
    _assert_rate_limited(_register(101, HTTP_X_FORWARDED_FOR="203.0.113.9"))
    assert not User.objects.filter(email__in=["new100@example.com", "new101@example.com"]).exists()
    assert _register(102, ip="10.0.0.2").status_code == 201


@override_settings(THROTTLE_ENABLED=True)
def test_a_huge_login_email_is_a_400_and_a_bounded_throttle_key():
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheKeyWarning)  # a key memcached would refuse
        response = _login("x" * 100_000 + "@example.com")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"email"}


@override_settings(THROTTLE_ENABLED=False)
def test_throttle_enabled_off_lets_logins_and_registrations_through(customer):
    logins = {_login(customer.email).status_code for _ in range(_rate("login_ip") + 5)}
    registrations = {_register(n).status_code for n in range(_rate("register_ip") + 5)}

    assert (logins, registrations) == ({401}, {201})


# --- page sizes ----------------------------------------------------------------------------

MANY = 101


def _users(customer):
    User.objects.bulk_create([User(email=f"bulk{n}@example.com", password="!") for n in range(MANY)])
    return "/api/users"


def _categories(customer):
    now = timezone.now()
    documents = [
        {
            "name": f"Category {n}",
            "name_lower": f"category {n}",
            "slug": f"category-{n}",
            "description": "",
            "parent_id": catalog_repository.ROOT,
            "revision": 0,
            "created_at": now,
            "updated_at": now,
        }
        for n in range(MANY)
    ]
    mongo.get_db()[catalog_repository.CATEGORIES].insert_many(documents)
    return "/api/categories"


def _products(customer):
    insert_products(MANY)
    return "/api/products"


def _search(customer):
    insert_products(MANY)
    return "/api/products/search?q=product"


def _in_category(customer):
    category = catalog_services.category_create(name="Bulk")
    insert_products(MANY, category_id=category.id)
    return f"/api/products/category/{category.slug}"


def _inventory(customer):
    Inventory.objects.using(MYSQL).bulk_create([Inventory(product_id=f"{n:024x}", quantity=0) for n in range(MANY)])
    return "/api/inventory"


def _low_stock(customer):
    _inventory(customer)
    return "/api/inventory/low-stock"


def _bulk_orders(customer):
    Order.objects.bulk_create(
        [
            Order(user=customer, email=customer.email, total=Decimal("1.00"), currency="USD", shipping_address=ADDRESS)
            for _ in range(MANY)
        ]
    )


def _orders(customer):
    _bulk_orders(customer)
    return "/api/orders"


def _user_orders(customer):
    _bulk_orders(customer)
    return f"/api/users/{customer.pk}/orders"


def _reviews(customer):
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"))
    documents = [
        reviews_repository.review_document(
            product_id=product.id, user_id=n + 1000, rating=5, title="Good", body="", created_at=timezone.now()
        )
        for n in range(MANY)
    ]
    reviews_repository.reviews_insert_many(documents)
    return f"/api/reviews/product/{product.id}"


@pytest.mark.parametrize(
    "make",
    [
        _users,
        _categories,
        _products,
        _search,
        _in_category,
        _inventory,
        _low_stock,
        _orders,
        _user_orders,
        _reviews,
    ],
    ids=lambda make: make.__name__.strip("_"),
)
def test_no_list_answers_more_than_100_items(staff_client, customer, make):
    path = make(customer)
    separator = "&" if "?" in path else "?"

    response = staff_client.get(f"{path}{separator}limit=1000")

    assert response.status_code == 200
    page = response.json()
    assert page["count"] >= MANY
    assert len(page["results"]) == 100
    assert "limit=100" in page["next"] and "offset=100" in page["next"]


def test_popular_products_refuses_a_limit_over_100(staff_client):
    response = staff_client.get("/api/analytics/popular-products?limit=1000")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"limit"}


# --- request bodies ------------------------------------------------------------------------

WRITE_ROUTES = [
    ("post", "/api/users"),
    ("put", "/api/users/1"),
    ("patch", "/api/users/1"),
    ("post", "/api/auth/token"),
    ("post", "/api/auth/token/refresh"),
    ("post", "/api/categories"),
    ("put", "/api/categories/0123456789abcdef01234567"),
    ("patch", "/api/categories/0123456789abcdef01234567"),
    ("post", "/api/products"),
    ("put", "/api/products/0123456789abcdef01234567"),
    ("patch", "/api/products/0123456789abcdef01234567"),
    ("put", "/api/inventory/0123456789abcdef01234567"),
    ("patch", "/api/inventory/0123456789abcdef01234567"),
    ("post", "/api/inventory/0123456789abcdef01234567/restock"),
    ("post", "/api/cart/1/items"),
    ("patch", "/api/cart/1/items/1"),
    ("post", "/api/orders"),
    ("patch", "/api/orders/1/status"),
    ("post", "/api/orders/1/cancel"),
    ("post", "/api/reviews"),
    ("post", "/api/reviews/0123456789abcdef01234567/helpful"),
    ("post", "/api/wishlist/1/items"),
]


@pytest.mark.parametrize(("method", "path"), WRITE_ROUTES, ids=[f"{m.upper()} {p}" for m, p in WRITE_ROUTES])
def test_every_write_refuses_a_body_over_one_mib(staff_client, method, path):
    body = json.dumps({"description": "x" * (2 * MIB)})

    response = getattr(staff_client, method)(path, data=body, content_type="application/json")

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_two_mib_product_description_changes_nothing(staff_client):
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"))
    huge = {"name": "Kettle", "price": "25.00", "description": "x" * (2 * MIB)}

    created = staff_client.post("/api/products", huge, format="json")
    updated = staff_client.put(f"/api/products/{product.id}", {"description": huge["description"]}, format="json")

    assert created.status_code == updated.status_code == 413
    documents = list(mongo.get_db()[catalog_repository.PRODUCTS].find({}))
    assert [(d["_id"].__str__(), d["description"]) for d in documents] == [(product.id, "")]


def test_a_body_just_under_one_mib_is_read_and_its_long_field_named(staff_client):
    body = json.dumps({"name": "Kettle", "price": "25.00", "description": "x" * (MIB - 100)})

    response = staff_client.post("/api/products", data=body, content_type="application/json")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"description"}


# --- bounds on every write -------------------------------------------------------------------


@pytest.fixture
def shop(db):
    """Staff, a customer with a cart line, a pending order and a review, and a product."""
    staff = make_user("staff@example.com", staff=True)
    owner = make_user("owner@example.com")
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"), initial_stock=50)
    cart_services.cart_item_add(user_id=owner.pk, product_id=product.id, quantity=2)
    order = order_services.order_place(
        user=owner, items=[{"product_id": product.id, "quantity": 1}], shipping_address=ADDRESS
    ).order
    review = reviews_services.review_create(actor=owner, product_id=product.id, rating=5, title="Good")
    return {
        "staff": staff,
        "owner": owner,
        "P": product.id,
        "owner_id": owner.pk,
        "item": CartItem.objects.get(user=owner).pk,
        "order": order.pk,
        "review": review.id,
    }


def _items(quantity):
    return lambda s: {"items": [{"product_id": s["P"], "quantity": quantity}], "shipping_address": ADDRESS}


def _address(**changes):
    return lambda s: {"items": [{"product_id": s["P"], "quantity": 1}], "shipping_address": {**ADDRESS, **changes}}


def _product(**fields):
    return lambda s: {"name": "Toaster", "price": "30.00", **fields}


def _register_body(**fields):
    return lambda s: {"email": "new@example.com", "password": "An0ther-Str0ng-Pass!", **fields}


def _review_body(**fields):
    return lambda s: {"product_id": s["P"], "rating": 4, "title": "Nice", **fields}


LONG = "x" * 10_000
HUGE = 10**30

# (who, method, path, body, the field the error names: a path into details)
BOUNDS = {
    # cart
    "cart add quantity 0": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": 0},
        "quantity",
    ),
    "cart add quantity 1001": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": 1001},
        "quantity",
    ),
    "cart add quantity -1": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": -1},
        "quantity",
    ),
    "cart add quantity x": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": "x"},
        "quantity",
    ),
    "cart add quantity 1.5": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": 1.5},
        "quantity",
    ),
    "cart add quantity huge": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": HUGE},
        "quantity",
    ),
    "cart add quantity null": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": None},
        "quantity",
    ),
    "cart add product_id long": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": LONG, "quantity": 1},
        "product_id",
    ),
    "cart line over 1000 in all": (
        "owner",
        "post",
        "/api/cart/{owner_id}/items",
        lambda s: {"product_id": s["P"], "quantity": 999},
        "quantity",
    ),
    "cart set quantity 0": (
        "owner",
        "patch",
        "/api/cart/{owner_id}/items/{item}",
        lambda s: {"quantity": 0},
        "quantity",
    ),
    "cart set quantity 1001": (
        "owner",
        "patch",
        "/api/cart/{owner_id}/items/{item}",
        lambda s: {"quantity": 1001},
        "quantity",
    ),
    "cart set quantity -1": (
        "owner",
        "patch",
        "/api/cart/{owner_id}/items/{item}",
        lambda s: {"quantity": -1},
        "quantity",
    ),
    "cart set quantity x": (
        "owner",
        "patch",
        "/api/cart/{owner_id}/items/{item}",
        lambda s: {"quantity": "x"},
        "quantity",
    ),
    # orders
    "order quantity 0": ("owner", "post", "/api/orders", _items(0), "items.0.quantity"),
    "order quantity 1001": ("owner", "post", "/api/orders", _items(1001), "items.0.quantity"),
    "order quantity -1": ("owner", "post", "/api/orders", _items(-1), "items.0.quantity"),
    "order quantity x": ("owner", "post", "/api/orders", _items("x"), "items.0.quantity"),
    "order quantity huge": ("owner", "post", "/api/orders", _items(HUGE), "items.0.quantity"),
    "order lines merged past 1000": (
        "owner",
        "post",
        "/api/orders",
        lambda s: {"items": [{"product_id": s["P"], "quantity": 600}] * 2, "shipping_address": ADDRESS},
        "items",
    ),
    "order of 101 lines": (
        "owner",
        "post",
        "/api/orders",
        lambda s: {
            "items": [{"product_id": f"{n:024x}", "quantity": 1} for n in range(101)],
            "shipping_address": ADDRESS,
        },
        "items",
    ),
    "order of no lines": (
        "owner",
        "post",
        "/api/orders",
        lambda s: {"items": [], "shipping_address": ADDRESS},
        "items",
    ),
    "order without address": (
        "owner",
        "post",
        "/api/orders",
        lambda s: {"items": [{"product_id": s["P"], "quantity": 1}]},
        "shipping_address",
    ),
    "address name long": ("owner", "post", "/api/orders", _address(name=LONG), "shipping_address.name"),
    "address line1 long": ("owner", "post", "/api/orders", _address(line1=LONG), "shipping_address.line1"),
    "address line2 long": ("owner", "post", "/api/orders", _address(line2=LONG), "shipping_address.line2"),
    "address city long": ("owner", "post", "/api/orders", _address(city=LONG), "shipping_address.city"),
    "address postal_code long": (
        "owner",
        "post",
        "/api/orders",
        _address(postal_code=LONG),
        "shipping_address.postal_code",
    ),
    "address country XX": ("owner", "post", "/api/orders", _address(country="XX"), "shipping_address.country"),
    "address country GBR": ("owner", "post", "/api/orders", _address(country="GBR"), "shipping_address.country"),
    "order user_id 0": ("staff", "post", "/api/orders", lambda s: {**_items(1)(s), "user_id": 0}, "user_id"),
    "order user_id huge": ("staff", "post", "/api/orders", lambda s: {**_items(1)(s), "user_id": HUGE}, "user_id"),
    "order status unknown": (
        "staff",
        "patch",
        "/api/orders/{order}/status",
        lambda s: {"status": "refunded"},
        "status",
    ),
    # inventory
    "inventory quantity -1": ("staff", "put", "/api/inventory/{P}", lambda s: {"quantity": -1}, "quantity"),
    "inventory quantity huge": ("staff", "put", "/api/inventory/{P}", lambda s: {"quantity": HUGE}, "quantity"),
    "inventory quantity x": ("staff", "put", "/api/inventory/{P}", lambda s: {"quantity": "x"}, "quantity"),
    "inventory threshold -1": (
        "staff",
        "patch",
        "/api/inventory/{P}",
        lambda s: {"low_stock_threshold": -1},
        "low_stock_threshold",
    ),
    "inventory threshold huge": (
        "staff",
        "patch",
        "/api/inventory/{P}",
        lambda s: {"low_stock_threshold": HUGE},
        "low_stock_threshold",
    ),
    "restock 0": ("staff", "post", "/api/inventory/{P}/restock", lambda s: {"quantity": 0}, "quantity"),
    "restock -1": ("staff", "post", "/api/inventory/{P}/restock", lambda s: {"quantity": -1}, "quantity"),
    "restock huge": ("staff", "post", "/api/inventory/{P}/restock", lambda s: {"quantity": HUGE}, "quantity"),
    "restock past the stock cap": (
        "staff",
        "post",
        "/api/inventory/{P}/restock",
        lambda s: {"quantity": 1_000_000_000},
        "quantity",
    ),
    # reviews and wishlist
    "review rating 0": ("owner", "post", "/api/reviews", _review_body(rating=0), "rating"),
    "review rating 6": ("owner", "post", "/api/reviews", _review_body(rating=6), "rating"),
    "review rating '4'": ("owner", "post", "/api/reviews", _review_body(rating="4"), "rating"),
    "review title empty": ("owner", "post", "/api/reviews", _review_body(title=""), "title"),
    "review title long": ("owner", "post", "/api/reviews", _review_body(title=LONG), "title"),
    "review body long": ("owner", "post", "/api/reviews", _review_body(body=LONG), "body"),
    "review product_id bad": ("owner", "post", "/api/reviews", _review_body(product_id="nope"), "product_id"),
    "wishlist product_id bad": (
        "owner",
        "post",
        "/api/wishlist/{owner_id}/items",
        lambda s: {"product_id": LONG},
        "product_id",
    ),
    # users
    "register email long": ("anon", "post", "/api/users", _register_body(email=LONG + "@example.com"), "email"),
    "register password long": ("anon", "post", "/api/users", _register_body(password=LONG), "password"),
    "register first_name long": ("anon", "post", "/api/users", _register_body(first_name=LONG), "first_name"),
    "register last_name long": ("anon", "post", "/api/users", _register_body(last_name=LONG), "last_name"),
    "register phone long": ("anon", "post", "/api/users", _register_body(phone="1" * 40), "phone"),
    "register phone letters": ("anon", "post", "/api/users", _register_body(phone="call me"), "phone"),
    "update first_name long": ("owner", "put", "/api/users/{owner_id}", lambda s: {"first_name": LONG}, "first_name"),
    "update last_name long": ("owner", "patch", "/api/users/{owner_id}", lambda s: {"last_name": LONG}, "last_name"),
    "update email long": (
        "owner",
        "patch",
        "/api/users/{owner_id}",
        lambda s: {"email": LONG + "@example.com"},
        "email",
    ),
    "login email long": ("anon", "post", "/api/auth/token", lambda s: {"email": LONG, "password": "x"}, "email"),
    "login password long": (
        "anon",
        "post",
        "/api/auth/token",
        lambda s: {"email": "a@b.co", "password": LONG},
        "password",
    ),
    # catalog
    "category name long": ("staff", "post", "/api/categories", lambda s: {"name": LONG}, "name"),
    "category description long": (
        "staff",
        "post",
        "/api/categories",
        lambda s: {"name": "A", "description": LONG},
        "description",
    ),
    "product name long": ("staff", "post", "/api/products", _product(name=LONG), "name"),
    "product description long": ("staff", "post", "/api/products", _product(description=LONG), "description"),
    "product sku long": ("staff", "post", "/api/products", _product(sku=LONG), "sku"),
    "product price 0": ("staff", "post", "/api/products", _product(price="0"), "price"),
    "product price huge": ("staff", "post", "/api/products", _product(price="1" + "0" * 30), "price"),
    "product price NaN": ("staff", "post", "/api/products", _product(price="NaN"), "price"),
    "product initial_stock -1": ("staff", "post", "/api/products", _product(initial_stock=-1), "initial_stock"),
    "product initial_stock huge": ("staff", "post", "/api/products", _product(initial_stock=HUGE), "initial_stock"),
    "product tags too many": ("staff", "post", "/api/products", _product(tags=[f"t{n}" for n in range(100)]), "tags"),
    "product update name long": ("staff", "patch", "/api/products/{P}", lambda s: {"name": LONG}, "name"),
}


def _detail(details: dict, path: str):
    """details["a"][0]["b"] for "a.0.b"; fails the test when the path is not there."""
    node = details
    for key in path.split("."):
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@pytest.mark.parametrize(("who", "method", "path", "body", "field"), list(BOUNDS.values()), ids=list(BOUNDS))
def test_out_of_bounds_input_is_a_400_naming_the_field(shop, who, method, path, body, field):
    client = client_for(shop.get(who))
    before = (Order.objects.count(), list(CartItem.objects.values_list("quantity", flat=True)))

    response = getattr(client, method)(path.format(**shop), body(shop), format="json")

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert _detail(error["details"], field), error["details"]
    assert (Order.objects.count(), list(CartItem.objects.values_list("quantity", flat=True))) == before


@pytest.mark.parametrize(
    "key",
    ["k" * 256, "   ", "a\x00b", "a\nb", "clé"],
    ids=["256 characters", "blank", "NUL", "newline", "not ASCII"],
)
def test_idempotency_key_is_bounded(shop, key):
    client = client_for(shop["owner"])

    response = client.post("/api/orders", _items(1)(shop), format="json", HTTP_IDEMPOTENCY_KEY=key)

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"Idempotency-Key"}
    assert Order.objects.count() == 1


# --- input PostgreSQL or a hash would choke on: a 400, never a 500 --------------------------------


def test_a_nul_in_the_user_search_is_a_400(staff_client):
    response = staff_client.get("/api/users?search=%00")

    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"search"}


@override_settings(THROTTLE_ENABLED=True)
def test_a_lone_surrogate_in_a_login_email_is_a_400(anon_client):
    body = '{"email": "\\ud800@example.com", "password": "x"}'

    response = anon_client.post("/api/auth/token", data=body, content_type="application/json")

    # Refused by the JSON parser itself: no store could keep it.
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize("endpoint", ["sales", "revenue", "popular-products"])
@pytest.mark.parametrize("query", ["to=0001-01-01", "from=9999-12-30&to=9999-12-31"], ids=["first day", "last days"])
def test_analytics_at_the_ends_of_the_calendar_answer_not_crash(staff_client, endpoint, query):
    response = staff_client.get(f"/api/analytics/{endpoint}?{query}")

    assert response.status_code == 200
    if endpoint == "sales":
        days = response.json()["series"]
        assert [d["date"] for d in days] == (["0001-01-01"] if query.startswith("to") else ["9999-12-30", "9999-12-31"])


# --- credentials ---------------------------------------------------------------------------------


def _settings_under(**env) -> dict:
    """Import ecommerce.settings (production, not test_settings) in a fresh interpreter with
    `env`, and answer the values the checks below need."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "THROTTLE_", "DJANGO_"))}
    clean.update(SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="ecommerce.settings", **env)
    script = (
        "import json, django\n"
        "django.setup()\n"
        "from django.conf import settings\n"
        "from django.contrib.auth.hashers import make_password\n"
        "jwt = settings.SIMPLE_JWT\n"
        "print(json.dumps({'hashers': settings.PASSWORD_HASHERS, 'hash': make_password('s3cret-Passw0rd'),\n"
        "  'access': jwt['ACCESS_TOKEN_LIFETIME'].total_seconds(),\n"
        "  'refresh': jwt['REFRESH_TOKEN_LIFETIME'].total_seconds(),\n"
        "  'throttle': settings.THROTTLE_ENABLED}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=BASE_DIR, env=clean, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_production_hashes_passwords_with_argon2_and_short_lived_tokens():
    assert production_settings.PASSWORD_HASHERS[0] == "ecommerce.api.hashers.Argon2PasswordHasher"

    defaults = _settings_under()

    assert defaults["hashers"][0] == "ecommerce.api.hashers.Argon2PasswordHasher"
    # Argon2id at OWASP's parameters: 19 MiB, 2 passes, 1 lane.
    assert defaults["hash"].startswith("argon2$argon2id$v=19$m=19456,t=2,p=1$")
    assert defaults["access"] <= 15 * 60
    assert defaults["refresh"] <= 24 * 3600
    assert defaults["throttle"] is True


def test_token_lifetimes_and_throttling_come_from_the_environment():
    configured = _settings_under(JWT_ACCESS_MINUTES="5", JWT_REFRESH_HOURS="2", THROTTLE_ENABLED="0")

    assert (configured["access"], configured["refresh"], configured["throttle"]) == (300, 7200, False)


def test_issued_access_tokens_live_at_most_15_minutes(anon_client, customer):
    response = anon_client.post("/api/auth/token", {"email": customer.email, "password": TEST_PASSWORD}, format="json")

    token = AccessToken(response.json()["access"])
    assert timedelta(seconds=token["exp"] - token["iat"]) <= timedelta(minutes=15)


def test_login_does_not_tell_which_accounts_exist_or_are_active(anon_client, customer):
    make_user("inactive@example.com", is_active=False)
    attempts = {
        "wrong password": (customer.email, "wrong-Passw0rd"),
        "unknown email": ("ghost@example.com", TEST_PASSWORD),
        "inactive, right password": ("inactive@example.com", TEST_PASSWORD),
        "inactive, wrong password": ("inactive@example.com", "wrong-Passw0rd"),
    }

    answers = {
        name: anon_client.post("/api/auth/token", {"email": email, "password": password}, format="json")
        for name, (email, password) in attempts.items()
    }

    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(attempts, 401)
    bodies = {json.dumps(r.json(), sort_keys=True) for r in answers.values()}
    assert len(bodies) == 1
    assert answers["unknown email"].json()["error"]["code"] == "authentication_failed"


def test_registration_says_an_email_is_taken_as_the_contract_chose(anon_client, customer):
    """409 reveals that an account exists: the contract's choice (a clear answer to a user
    signing up twice); the per-address registration throttle bounds how fast anyone can probe."""
    response = anon_client.post(
        "/api/users", {"email": customer.email.upper(), "password": "An0ther-Str0ng-Pass!"}, format="json"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "conflict"
    assert User.objects.filter(email=customer.email).count() == 1


def _chunks(*parts: bytes, size: int = 64 * 1024):
    for part in parts:
        for start in range(0, len(part), size):
            yield part[start : start + size]


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_chunked_body_is_read_as_sent(live_api):
    """gunicorn passes a chunked body with no Content-Length; Django alone would read it as
    empty (a misleading 400). The WSGI entry point reads it, so it registers like any body."""
    import requests

    body = b'{"email": "chunked@example.com", "password": "An0ther-Str0ng-Pass!", "first_name": "Chunky"}'

    response = requests.post(
        f"{live_api.url}/api/users",
        data=_chunks(body, size=16),
        headers={"Content-Type": "application/json"},
        timeout=60,
    )

    assert response.status_code == 201, response.text
    assert response.json()["first_name"] == "Chunky"
    assert User.objects.get(email="chunked@example.com").first_name == "Chunky"


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_chunked_body_cannot_slip_past_the_cap(live_api):
    """2 MiB sent chunked is refused with 413 like any body over the cap, and creates nothing."""
    import requests

    body = b'{"email": "chunked@example.com", "password": "An0ther-Str0ng-Pass!", "first_name": "'
    body += b"x" * (2 * MIB) + b'"}'

    response = requests.post(
        f"{live_api.url}/api/users", data=_chunks(body), headers={"Content-Type": "application/json"}, timeout=60
    )

    assert response.status_code == 413, response.text
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.headers["X-Request-ID"]
    assert not User.objects.filter(email="chunked@example.com").exists()
    assert requests.get(f"{live_api.url}/health/live", timeout=10).status_code == 200
