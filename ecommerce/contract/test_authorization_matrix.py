"""The authorization matrix of shared/API.md: every endpoint, called as anonymous, as the
owning customer, as another customer and as staff, answers what the contract says.

OWASP API1 (object level): another customer's user, cart, wishlist, order or review answers
404 and nothing changes; lists show a customer only their own. API3/API5 (properties and
functions): staff-only fields and routes (`is_staff`, order `status`, `user_id` on
POST /api/orders, catalog writes, inventory, analytics, refunds, events and webhooks) are
refused to customers, and fields nobody may write are ignored. The payment provider's webhook
takes no token: its signature alone decides, for every caller.

The back office (/admin/) answers each page as the user's permissions allow, and never shows
a payment's client secret or a webhook's signing secret.

Each case builds one small world with the services (not HTTP), then makes one request.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property
from string import Formatter

import pytest
from django.conf import settings
from django.core.cache import cache
from django.urls import URLResolver, get_resolver, resolve
from rest_framework_simplejwt.tokens import RefreshToken

from cart import services as cart_services
from cart.models import CartItem
from catalog import repository as catalog_repository
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from ecommerce.testing.helpers import TEST_PASSWORD, client_for, make_user
from events import services as event_services
from events.models import Delivery, Webhook
from inventory.models import Inventory
from orders import services as order_services
from orders.models import Order
from payments import services as payment_services
from payments.models import Payment, Refund, WebhookEvent
from payments.providers.simulated import signature_header
from reviews import repository as reviews_repository
from reviews import services as reviews_services
from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")

ROLES = ("anon", "owner", "other", "staff")
ADDRESS = {"line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
# Nothing listens there: the relay does not run in these tests, deliveries only queue up.
HOOK_URL = "http://127.0.0.1:9/hook"
USER_FIELDS = {"id", "email", "first_name", "last_name", "phone", "is_staff", "date_joined"}
# The code each error status carries here: every anonymous request sends no credentials.
CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    409: "conflict",
}


@dataclass
class World:
    staff: User
    owner: User
    other: User
    category: object  # has products P, Q and the hidden one
    empty: object  # no products, no children
    p: object
    q: object
    hidden: object  # inactive: staff see it, customers do not
    item_id: int  # the owner's cart line (P x2)
    order_id: int  # the owner's pending order (Q x1)
    review_id: str  # the owner's review of P
    refresh: str  # a refresh token of the owner
    webhook_id: int  # subscribed to "order.*" before the order was placed
    webhook_secret: str  # its signing secret, as the API answered it once
    delivery_id: int  # its delivery of the order's order.created, failed (as the relay gives up)

    def user(self, role: str) -> User | None:
        return {"anon": None, "owner": self.owner, "other": self.other, "staff": self.staff}[role]

    # What only some rows need is built when a row first names it, so the other rows' counts
    # (products listed, orders, payments) stay those of the small world above.

    @cached_property
    def parent(self):
        """A parent "Tee" (Size) in the category, with an active variant M and an inactive L."""
        parent = catalog_services.product_create(name="Tee", option_names=["Size"], category_id=self.category.id)
        for size, active in (("M", True), ("L", False)):
            catalog_services.variant_create(
                parent_id=parent.id,
                sku=f"TEE-{size}",
                options={"Size": size},
                price=Decimal("9.00"),
                initial_stock=5,
                is_active=active,
            )
        return parent

    @cached_property
    def paid_order_id(self) -> int:
        """A second order of the owner (P x1), paid through the test provider."""
        placed = order_services.order_place(
            user=self.owner, items=[{"product_id": self.p.id, "quantity": 1}], shipping_address=ADDRESS
        )
        opened = payment_services.payment_create(actor=self.owner, order_id=placed.order.pk).obj
        payment_services.payment_simulate(payment_id=opened.pk, event="captured")
        return placed.order.pk

    @cached_property
    def payment_id(self) -> int:
        """The captured payment (25.00) of the paid order."""
        return Payment.objects.get(order_id=self.paid_order_id).pk

    @cached_property
    def opened(self) -> Payment:
        """A payment opened by the owner for the pending order, awaiting the provider."""
        return payment_services.payment_create(actor=self.owner, order_id=self.order_id).obj

    def value(self, name: str):
        return {
            "owner": lambda: self.owner.pk,
            "other": lambda: self.other.pk,
            "category": lambda: self.category.id,
            "category_slug": lambda: self.category.slug,
            "empty": lambda: self.empty.id,
            "P": lambda: self.p.id,
            "Q": lambda: self.q.id,
            "hidden": lambda: self.hidden.id,
            "item": lambda: self.item_id,
            "order": lambda: self.order_id,
            "review": lambda: self.review_id,
            "parent": lambda: self.parent.id,
            "paid_order": lambda: self.paid_order_id,
            "payment": lambda: self.payment_id,
            "opened": lambda: self.opened.pk,
            "webhook": lambda: self.webhook_id,
            "delivery": lambda: self.delivery_id,
        }[name]()

    def path(self, template: str) -> str:
        names = {field for _, field, _, _ in Formatter().parse(template) if field}
        return template.format(**{name: self.value(name) for name in names})


@pytest.fixture
def world(settings) -> World:
    cache.clear()  # throttle counters and cached catalog reads of earlier tests
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # HOOK_URL is on 127.0.0.1, as in development
    webhook, webhook_secret = event_services.webhook_create(url=HOOK_URL, events=["order.*"])
    staff = make_user("staff@example.com", staff=True)
    owner = make_user("owner@example.com", first_name="Olive")
    other = make_user("other@example.com", first_name="Otto")
    category = catalog_services.category_create(name="Kitchen")
    empty = catalog_services.category_create(name="Garden")
    p = catalog_services.product_create(
        name="Kettle", price=Decimal("25.00"), category_id=category.id, initial_stock=50
    )
    q = catalog_services.product_create(
        name="Teapot", price=Decimal("12.00"), category_id=category.id, initial_stock=50
    )
    hidden = catalog_services.product_create(
        name="Retired kettle", price=Decimal("5.00"), category_id=category.id, is_active=False
    )
    cart_services.cart_item_add(user_id=owner.pk, product_id=p.id, quantity=2)
    placed = order_services.order_place(
        user=owner, items=[{"product_id": q.id, "quantity": 1}], shipping_address=ADDRESS
    )
    review = reviews_services.review_create(actor=owner, product_id=p.id, rating=5, title="Boils fast")
    reviews_services.wishlist_item_add(actor=owner, user_id=owner.pk, product_id=p.id)
    delivery = Delivery.objects.get(webhook=webhook)
    Delivery.objects.filter(pk=delivery.pk).update(status=Delivery.Status.FAILED, next_attempt_at=None)
    yield World(
        staff=staff,
        owner=owner,
        other=other,
        category=category,
        empty=empty,
        p=p,
        q=q,
        hidden=hidden,
        item_id=CartItem.objects.get(user=owner).pk,
        order_id=placed.order.pk,
        review_id=review.id,
        refresh=str(RefreshToken.for_user(owner)),
        webhook_id=webhook.pk,
        webhook_secret=webhook_secret,
        delivery_id=delivery.pk,
    )
    cache.clear()


# --- what the stores hold ------------------------------------------------------------------


def _cart(w: World, user: User | None = None) -> list:
    return list(CartItem.objects.filter(user=user or w.owner).order_by("id").values_list("product_id", "quantity"))


def _stock(w: World) -> tuple:
    return (
        Inventory.objects.using(MYSQL).values_list("quantity", "reserved", "low_stock_threshold").get(product_id=w.p.id)
    )


def _wishlist(w: World) -> list:
    return [e.product_id for e in reviews_repository.wishlist_entries_for_user(w.owner.pk, limit=100)]


def _review(w: World):
    return reviews_repository.review_find_one(mongo.object_id_or_404(w.review_id))


def _mongo_count(collection: str) -> int:
    return mongo.get_db()[collection].count_documents({})


def _order_status(w: World) -> str:
    return Order.objects.get(pk=w.order_id).status


def _payments(w: World) -> list:
    return list(Payment.objects.filter(order_id=w.order_id).order_by("id").values_list("status", "captured"))


def _opened(w: World) -> tuple:
    """The opened payment and its order, with what the provider's events left behind."""
    payment = Payment.objects.get(pk=w.opened.pk)
    return (payment.status, payment.captured, _order_status(w), WebhookEvent.objects.count())


def _refunds(w: World) -> list:
    return list(Refund.objects.order_by("id").values_list("payment_id", "amount", "status"))


def _webhook(w: World) -> tuple | None:
    fields = ("url", "events", "is_active", "description", "secret_encrypted")
    return Webhook.objects.filter(pk=w.webhook_id).values_list(*fields).first()


def _deliveries(w: World) -> list:
    return list(Delivery.objects.filter(webhook_id=w.webhook_id).order_by("id").values_list("status", "attempt"))


def _captured_event(w: World) -> bytes:
    """The test provider's capture of the whole opened payment, in the body API.md gives."""
    reference = w.opened.provider_reference
    event = {"id": f"evt_{reference}_captured", "type": "payment.captured", "data": {"payment": reference}}
    event["data"]["amount"] = str(w.opened.amount)
    return json.dumps(event).encode()


# --- the matrix --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One endpoint call. `expect` is the status for (anon, owner, other, staff).

    `ok(world, role, body)` answers (actual, expected) for a field of a success's body.
    `state(world)` reads what the call would change: unchanged after a refusal, changed after
    a success. `label` tells apart two rows of one route; `codes` gives an error code other
    than CODES' for a status."""

    method: str
    path: str
    expect: tuple[int, int, int, int]
    body: Callable[[World], dict] | None = None
    ok: Callable[[World, str, dict], tuple] | None = None
    state: Callable[[World], object] | None = None
    label: str = ""
    codes: tuple[tuple[int, str], ...] = ()
    given: Callable[[World], object] | None = None  # what the world must hold before the call
    signed: bool = False  # `body` answers raw bytes, sent with the test provider's signature

    @property
    def name(self) -> str:
        return f"{self.method} {self.path}" + (f" [{self.label}]" if self.label else "")


def _is(role: str, **by_role):
    return by_role.get(role, by_role.get("default"))


ROWS = [
    # --- users
    Row(
        "POST",
        "/api/users",
        (201, 201, 201, 201),
        body=lambda w: {"email": "new@example.com", "password": "An0ther-Str0ng-Pass!", "first_name": "New"},
        ok=lambda w, r, d: ((d["email"], d["is_staff"], set(d)), ("new@example.com", False, USER_FIELDS)),
        state=lambda w: User.objects.count(),
    ),
    Row(
        "GET",
        "/api/users",
        (401, 403, 403, 200),
        ok=lambda w, r, d: (sorted(u["email"] for u in d["results"]), [w.other.email, w.owner.email, w.staff.email]),
    ),
    Row(
        "GET",
        "/api/users/me",
        (401, 200, 200, 200),
        ok=lambda w, r, d: ((d["id"], set(d)), (w.user(r).pk, USER_FIELDS)),
    ),
    Row("GET", "/api/users/{owner}", (401, 200, 404, 200), ok=lambda w, r, d: (d["email"], w.owner.email)),
    Row(
        "PUT",
        "/api/users/{owner}",
        (401, 200, 404, 200),
        body=lambda w: {"first_name": "Changed"},
        ok=lambda w, r, d: ((d["first_name"], d["last_name"]), ("Changed", "")),
        state=lambda w: User.objects.get(pk=w.owner.pk).first_name,
    ),
    Row(
        "PATCH",
        "/api/users/{owner}",
        (401, 200, 404, 200),
        body=lambda w: {"phone": "+44 20 7946 0000"},
        ok=lambda w, r, d: (d["phone"], "+44 20 7946 0000"),
        state=lambda w: User.objects.get(pk=w.owner.pk).phone,
    ),
    Row(
        "PUT",
        "/api/users/{owner}",
        (401, 403, 404, 200),
        label="is_staff",
        body=lambda w: {"is_staff": True},
        ok=lambda w, r, d: (d["is_staff"], True),
        state=lambda w: User.objects.get(pk=w.owner.pk).is_staff,
    ),
    Row(
        "DELETE",
        "/api/users/{owner}",
        (401, 204, 404, 204),
        state=lambda w: (User.objects.filter(pk=w.owner.pk).exists(), Order.objects.get(pk=w.order_id).user_id),
    ),
    Row(
        "GET",
        "/api/users/{owner}/orders",
        (401, 200, 404, 200),
        ok=lambda w, r, d: ([o["id"] for o in d["results"]], [w.order_id]),
    ),
    # --- auth
    Row(
        "POST",
        "/api/auth/token",
        (200, 200, 200, 200),
        body=lambda w: {"email": w.owner.email, "password": TEST_PASSWORD},
        ok=lambda w, r, d: (set(d), {"access", "refresh"}),
    ),
    Row(
        "POST",
        "/api/auth/token/refresh",
        (200, 200, 200, 200),
        body=lambda w: {"refresh": w.refresh},
        ok=lambda w, r, d: ("access" in d, True),
    ),
    # --- categories
    Row(
        "POST",
        "/api/categories",
        (401, 403, 403, 201),
        body=lambda w: {"name": "Bath Room"},
        ok=lambda w, r, d: (d["slug"], "bath-room"),
        state=lambda w: _mongo_count(catalog_repository.CATEGORIES),
    ),
    Row("GET", "/api/categories", (200, 200, 200, 200), ok=lambda w, r, d: (d["count"], 2)),
    Row("GET", "/api/categories/{category}", (200, 200, 200, 200), ok=lambda w, r, d: (d["slug"], "kitchen")),
    Row(
        "PUT",
        "/api/categories/{category}",
        (401, 403, 403, 200),
        body=lambda w: {"name": "Cookware"},
        ok=lambda w, r, d: (d["name"], "Cookware"),
        state=lambda w: catalog_selectors.category_get(category_id=w.category.id).name,
    ),
    Row(
        "PATCH",
        "/api/categories/{category}",
        (401, 403, 403, 200),
        body=lambda w: {"description": "Pots and pans"},
        ok=lambda w, r, d: (d["description"], "Pots and pans"),
        state=lambda w: catalog_selectors.category_get(category_id=w.category.id).description,
    ),
    Row(
        "DELETE",
        "/api/categories/{empty}",
        (401, 403, 403, 204),
        state=lambda w: catalog_selectors.category_exists(category_id=w.empty.id),
    ),
    # --- products
    Row(
        "POST",
        "/api/products",
        (401, 403, 403, 201),
        body=lambda w: {"name": "Toaster", "price": "30.00", "initial_stock": 3},
        ok=lambda w, r, d: ((d["name"], d["price"]), ("Toaster", "30.00")),
        state=lambda w: (_mongo_count(catalog_repository.PRODUCTS), Inventory.objects.using(MYSQL).count()),
    ),
    Row(
        "GET",
        "/api/products",
        (200, 200, 200, 200),
        ok=lambda w, r, d: (d["count"], _is(r, staff=3, default=2)),
    ),
    Row(
        "GET",
        "/api/products/search?q=KETTLE",
        (200, 200, 200, 200),
        ok=lambda w, r, d: (d["count"], _is(r, staff=2, default=1)),
    ),
    Row(
        "GET",
        "/api/products/category/{category_slug}",
        (200, 200, 200, 200),
        ok=lambda w, r, d: (d["count"], _is(r, staff=3, default=2)),
    ),
    Row("GET", "/api/products/{P}", (200, 200, 200, 200), ok=lambda w, r, d: (d["rating"]["count"], 1)),
    Row("GET", "/api/products/{hidden}", (404, 404, 404, 200), ok=lambda w, r, d: (d["is_active"], False)),
    Row(
        "PUT",
        "/api/products/{P}",
        (401, 403, 403, 200),
        body=lambda w: {"price": "1.00"},
        ok=lambda w, r, d: (d["price"], "1.00"),
        state=lambda w: catalog_selectors.product_get(product_id=w.p.id).price,
    ),
    Row(
        "PATCH",
        "/api/products/{P}",
        (401, 403, 403, 200),
        body=lambda w: {"is_active": False},
        ok=lambda w, r, d: (d["is_active"], False),
        state=lambda w: catalog_selectors.product_get(product_id=w.p.id, include_inactive=True).is_active,
    ),
    Row(
        "DELETE",
        "/api/products/{P}",
        (401, 403, 403, 204),
        state=lambda w: (catalog_selectors.product_exists(product_id=w.p.id), _cart(w), _wishlist(w)),
    ),
    # --- inventory
    Row("GET", "/api/inventory", (401, 403, 403, 200), ok=lambda w, r, d: (d["count"], 3)),
    Row(
        "GET",
        "/api/inventory/low-stock",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ([i["product_id"] for i in d["results"]], [w.hidden.id]),
    ),
    Row(
        "GET", "/api/inventory/{Q}", (401, 403, 403, 200), ok=lambda w, r, d: ((d["quantity"], d["reserved"]), (49, 1))
    ),
    Row(
        "PUT",
        "/api/inventory/{P}",
        (401, 403, 403, 200),
        body=lambda w: {"quantity": 7},
        ok=lambda w, r, d: (d["quantity"], 7),
        state=_stock,
    ),
    Row(
        "PATCH",
        "/api/inventory/{P}",
        (401, 403, 403, 200),
        body=lambda w: {"low_stock_threshold": 60},
        ok=lambda w, r, d: (d["low_stock_threshold"], 60),
        state=_stock,
    ),
    Row(
        "POST",
        "/api/inventory/{P}/restock",
        (401, 403, 403, 200),
        body=lambda w: {"quantity": 5},
        ok=lambda w, r, d: (d["quantity"], 55),
        state=_stock,
    ),
    # --- cart
    Row(
        "GET",
        "/api/cart/{owner}",
        (401, 200, 404, 200),
        ok=lambda w, r, d: ((d["user_id"], d["item_count"], d["total"]), (w.owner.pk, 2, "50.00")),
    ),
    Row(
        "POST",
        "/api/cart/{owner}/items",
        (401, 201, 404, 201),
        body=lambda w: {"product_id": w.q.id, "quantity": 1},
        ok=lambda w, r, d: ((d["user_id"], d["item_count"]), (w.owner.pk, 3)),
        state=_cart,
    ),
    Row(
        "PATCH",
        "/api/cart/{owner}/items/{item}",
        (401, 200, 404, 200),
        body=lambda w: {"quantity": 5},
        ok=lambda w, r, d: (d["items"][0]["quantity"], 5),
        state=_cart,
    ),
    Row("DELETE", "/api/cart/{owner}/items/{item}", (401, 204, 404, 204), state=_cart),
    Row("DELETE", "/api/cart/{owner}/clear", (401, 204, 404, 204), state=_cart),
    # The owner's line through another cart's path: never found, whoever asks.
    Row(
        "PATCH",
        "/api/cart/{other}/items/{item}",
        (401, 404, 404, 404),
        body=lambda w: {"quantity": 9},
        state=_cart,
    ),
    Row("DELETE", "/api/cart/{other}/items/{item}", (401, 404, 404, 404), state=_cart),
    # --- orders
    Row(
        "POST",
        "/api/orders",
        (401, 201, 201, 201),
        body=lambda w: {"items": [{"product_id": w.p.id, "quantity": 1}], "shipping_address": ADDRESS},
        ok=lambda w, r, d: ((d["user_id"], d["status"], d["total"]), (w.user(r).pk, "pending", "25.00")),
        state=lambda w: Order.objects.count(),
    ),
    Row(
        "POST",
        "/api/orders",
        (401, 201, 403, 201),
        label="user_id of the owner",
        body=lambda w: {
            "items": [{"product_id": w.p.id, "quantity": 1}],
            "shipping_address": ADDRESS,
            "user_id": w.owner.pk,
        },
        ok=lambda w, r, d: ((d["user_id"], d["email"]), (w.owner.pk, w.owner.email)),
        state=lambda w: (Order.objects.filter(user=w.owner).count(), _stock(w)),
    ),
    Row(
        "POST",
        "/api/orders",
        (401, 201, 400, 400),
        label="from_cart orders the caller's cart",
        body=lambda w: {"from_cart": True, "shipping_address": ADDRESS},
        ok=lambda w, r, d: ([(i["product_id"], i["quantity"]) for i in d["items"]], [(w.p.id, 2)]),
        state=lambda w: (_cart(w), Order.objects.count(), _stock(w)),
    ),
    Row(
        "GET",
        "/api/orders",
        (401, 200, 200, 200),
        ok=lambda w, r, d: ([o["id"] for o in d["results"]], _is(r, other=[], default=[w.order_id])),
    ),
    Row(
        "GET",
        "/api/orders?status=pending",
        (401, 200, 200, 200),
        ok=lambda w, r, d: (d["count"], _is(r, other=0, default=1)),
    ),
    Row("GET", "/api/orders/{order}", (401, 200, 404, 200), ok=lambda w, r, d: (d["id"], w.order_id)),
    Row(
        "PATCH",
        "/api/orders/{order}/status",
        (401, 403, 403, 200),
        body=lambda w: {"status": "paid"},
        ok=lambda w, r, d: (d["status"], "paid"),
        state=_order_status,
    ),
    Row(
        "POST",
        "/api/orders/{order}/cancel",
        (401, 200, 404, 200),
        ok=lambda w, r, d: (d["status"], "cancelled"),
        state=lambda w: (_order_status(w), Inventory.objects.using(MYSQL).get(product_id=w.q.id).reserved),
    ),
    # --- analytics
    Row(
        "GET",
        "/api/analytics/sales",
        (401, 403, 403, 200),
        ok=lambda w, r, d: (sum(p["units"] for p in d["series"]), 1),
    ),
    Row(
        "GET",
        "/api/analytics/popular-products",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ([p["product_id"] for p in d["results"]], [w.q.id]),
    ),
    Row(
        "GET",
        "/api/analytics/revenue",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ((d["orders"], d["gross"]), (1, "12.00")),
    ),
    # --- reviews
    Row(
        "POST",
        "/api/reviews",
        (401, 201, 201, 201),
        body=lambda w: {"product_id": w.q.id, "rating": 4, "title": "Pours well"},
        ok=lambda w, r, d: ((d["user_id"], d["product_id"]), (w.user(r).pk, w.q.id)),
        state=lambda w: _mongo_count(reviews_repository.REVIEWS),
    ),
    Row(
        "POST",
        "/api/reviews",
        (401, 409, 201, 201),
        label="a second review of P",
        body=lambda w: {"product_id": w.p.id, "rating": 1, "title": "Again"},
        ok=lambda w, r, d: (d["user_id"], w.user(r).pk),
        state=lambda w: (_mongo_count(reviews_repository.REVIEWS), catalog_selectors.product_get(product_id=w.p.id)),
    ),
    Row(
        "GET", "/api/reviews/product/{P}", (200, 200, 200, 200), ok=lambda w, r, d: (d["results"][0]["id"], w.review_id)
    ),
    Row("GET", "/api/reviews/product/{hidden}", (404, 404, 404, 200), ok=lambda w, r, d: (d["count"], 0)),
    Row("DELETE", "/api/reviews/{review}", (401, 204, 404, 204), state=lambda w: _review(w) is not None),
    Row(
        "POST",
        "/api/reviews/{review}/helpful",
        (401, 200, 200, 200),
        ok=lambda w, r, d: (d["helpful_count"], 1),
        state=lambda w: _review(w).helpful_count,
    ),
    # --- wishlist
    Row(
        "GET",
        "/api/wishlist/{owner}",
        (401, 200, 404, 200),
        ok=lambda w, r, d: ((d["user_id"], [i["product_id"] for i in d["items"]]), (w.owner.pk, [w.p.id])),
    ),
    Row(
        "POST",
        "/api/wishlist/{owner}/items",
        (401, 201, 404, 201),
        body=lambda w: {"product_id": w.q.id},
        ok=lambda w, r, d: (sorted(i["product_id"] for i in d["items"]), sorted([w.p.id, w.q.id])),
        state=_wishlist,
    ),
    Row("DELETE", "/api/wishlist/{owner}/items/{P}", (401, 204, 404, 204), state=_wishlist),
    # The owner's entry through another wishlist's path: never found, whoever asks.
    Row("DELETE", "/api/wishlist/{other}/items/{P}", (401, 404, 404, 404), state=_wishlist),
    # --- variants
    Row(
        "POST",
        "/api/products/{parent}/variants",
        (401, 403, 403, 201),
        body=lambda w: {"sku": "TEE-S", "options": {"Size": "S"}, "price": "8.00", "initial_stock": 4},
        ok=lambda w, r, d: (
            (d["kind"], d["parent_id"], d["options"], d["price"]),
            ("variant", w.parent.id, {"Size": "S"}, "8.00"),
        ),
        state=lambda w: (_mongo_count(catalog_repository.PRODUCTS), Inventory.objects.using(MYSQL).count()),
    ),
    Row(
        "POST",
        "/api/products/{P}/variants",
        (401, 403, 403, 400),
        label="P is no parent",
        body=lambda w: {"sku": "KETTLE-S", "options": {"Size": "S"}, "price": "8.00"},
        state=lambda w: (_mongo_count(catalog_repository.PRODUCTS), Inventory.objects.using(MYSQL).count()),
    ),
    Row(
        "GET",
        "/api/products/{parent}/variants",
        (200, 200, 200, 200),
        ok=lambda w, r, d: ([v["options"]["Size"] for v in d["results"]], _is(r, staff=["M", "L"], default=["M"])),
    ),
    # --- payments
    Row(
        "POST",
        "/api/orders/{order}/payments",
        (401, 201, 404, 201),
        body=lambda w: {},
        ok=lambda w, r, d: ((d["order_id"], d["status"], d["amount"]), (w.order_id, "requires_confirmation", "12.00")),
        state=_payments,
    ),
    Row(
        "POST",
        "/api/orders/{order}/payments",
        (401, 409, 404, 409),
        label="one already open",
        given=lambda w: w.opened,
        body=lambda w: {},
        state=_payments,
    ),
    Row(
        "POST",
        "/api/orders/{paid_order}/payments",
        (401, 409, 404, 409),
        body=lambda w: {},
        codes=((409, "invalid_transition"),),
        state=lambda w: list(Payment.objects.filter(order_id=w.paid_order_id).values_list("status", flat=True)),
    ),
    Row(
        "GET",
        "/api/orders/{paid_order}/payments",
        (401, 200, 404, 200),
        ok=lambda w, r, d: ([(p["id"], p["status"], p["captured"]) for p in d], [(w.payment_id, "captured", "25.00")]),
    ),
    Row(
        "POST",
        "/api/payments/{payment}/refunds",
        (401, 403, 403, 201),
        body=lambda w: {"amount": "5.00", "reason": "dented"},
        ok=lambda w, r, d: ((d["payment_id"], d["amount"], d["status"]), (w.payment_id, "5.00", "succeeded")),
        state=_refunds,
    ),
    Row(
        "POST",
        "/api/payments/{opened}/refunds",
        (401, 403, 403, 409),
        label="nothing captured yet",
        body=lambda w: {"amount": "5.00"},
        codes=((409, "refund_exceeds_captured"),),
        state=_refunds,
    ),
    Row(
        "POST",
        "/api/payments/{opened}/simulate",
        (401, 403, 403, 200),
        body=lambda w: {"event": "captured"},
        ok=lambda w, r, d: ((d["id"], d["status"], d["captured"]), (w.opened.pk, "captured", "12.00")),
        state=_opened,
    ),
    # The signature decides, not a token: unsigned is refused and signed is applied, whoever sends it.
    Row(
        "POST",
        "/api/payments/webhooks/test",
        (400, 400, 400, 400),
        label="unsigned",
        body=lambda w: json.loads(_captured_event(w)),
        state=_opened,
    ),
    Row(
        "POST",
        "/api/payments/webhooks/test",
        (200, 200, 200, 200),
        label="signed",
        body=_captured_event,
        signed=True,
        ok=lambda w, r, d: ((d["applied"], d["replayed"]), (True, False)),
        state=_opened,
    ),
    # --- events and webhooks
    Row(
        "GET",
        "/api/events?type=order.*",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ([(e["type"], e["data"]["id"]) for e in d["results"]], [("order.created", w.order_id)]),
    ),
    Row(
        "GET",
        "/api/orders/{order}/events",
        (401, 200, 404, 200),
        ok=lambda w, r, d: ([(e["type"], e["data"]["status"]) for e in d["results"]], [("order.created", "pending")]),
    ),
    Row(
        "POST",
        "/api/webhooks",
        (401, 403, 403, 201),
        body=lambda w: {"url": "http://127.0.0.1:9/stock", "events": ["stock.low"]},
        ok=lambda w, r, d: ((d["events"], d["secret"][:6]), (["stock.low"], "whsec_")),
        state=lambda w: list(Webhook.objects.order_by("id").values_list("url", flat=True)),
    ),
    Row(
        "GET", "/api/webhooks", (401, 403, 403, 200), ok=lambda w, r, d: ([h["url"] for h in d["results"]], [HOOK_URL])
    ),
    Row(
        "GET",
        "/api/webhooks/{webhook}",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ((d["url"], d["events"], "secret" in d), (HOOK_URL, ["order.*"], False)),
    ),
    Row(
        "PUT",
        "/api/webhooks/{webhook}",
        (401, 403, 403, 200),
        body=lambda w: {"description": "warehouse"},
        ok=lambda w, r, d: ((d["description"], d["url"]), ("warehouse", HOOK_URL)),
        state=_webhook,
    ),
    Row(
        "PATCH",
        "/api/webhooks/{webhook}",
        (401, 403, 403, 200),
        body=lambda w: {"is_active": False},
        ok=lambda w, r, d: (d["is_active"], False),
        state=_webhook,
    ),
    Row("DELETE", "/api/webhooks/{webhook}", (401, 403, 403, 204), state=lambda w: (_webhook(w), _deliveries(w))),
    Row(
        "POST",
        "/api/webhooks/{webhook}/rotate-secret",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ((d["id"], d["secret"][:6]), (w.webhook_id, "whsec_")),
        state=_webhook,
    ),
    Row(
        "GET",
        "/api/webhooks/{webhook}/deliveries",
        (401, 403, 403, 200),
        ok=lambda w, r, d: ([(x["id"], x["attempt"]) for x in d["results"]], [(w.delivery_id, 1)]),
    ),
    Row(
        "POST",
        "/api/webhooks/{webhook}/deliveries/{delivery}/redeliver",
        (401, 403, 403, 202),
        ok=lambda w, r, d: ((d["id"] != w.delivery_id, d["attempt"]), (True, 1)),
        state=_deliveries,
    ),
]

CASES = [
    pytest.param(row, role, expected, id=f"{row.name}-{role}")
    for row in ROWS
    for role, expected in zip(ROLES, row.expect, strict=True)
]


@pytest.mark.parametrize(("row", "role", "expected"), CASES)
def test_endpoint_answers_each_role_as_the_contract_says(world, row, role, expected):
    if row.given is not None:
        row.given(world)
    path = world.path(row.path)
    before = row.state(world) if row.state else None
    client = client_for(world.user(role))
    body = row.body(world) if row.body else None

    if row.signed:
        signature = signature_header(body=body, secret=settings.PAYMENTS_WEBHOOK_SECRET)
        response = client.post(path, body, content_type="application/json", headers={"Payment-Signature": signature})
    else:
        response = getattr(client, row.method.lower())(path, body, format="json")

    assert response.status_code == expected, response.content
    if expected >= 400:
        assert response.json()["error"]["code"] == dict(row.codes).get(expected, CODES[expected])
    elif row.ok is not None:
        actual, wanted = row.ok(world, role, response.json())
        assert actual == wanted
    if row.state is not None:
        after = row.state(world)
        if expected >= 400:
            assert after == before, "a refused call changed the stores"
        else:
            assert after != before, "an accepted write changed nothing"


def _api_routes(patterns, prefix: str = "") -> set[tuple[str, str]]:
    """(method, route) of every API view in the URLconf."""
    routes = set()
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        if isinstance(pattern, URLResolver):
            routes |= _api_routes(pattern.url_patterns, route)
        elif route.startswith("api/") and getattr(pattern.callback, "actions", None):
            routes |= {(method.upper(), route) for method in pattern.callback.actions if method != "head"}
        elif route.startswith("api/auth/"):
            routes.add(("POST", route))
    return routes


def test_every_api_route_is_in_the_matrix():
    """A route added later without its row here fails this test."""
    dummy = {"owner": 1, "other": 2, "category": "a" * 24, "category_slug": "kitchen", "empty": "b" * 24}
    dummy |= {"P": "c" * 24, "Q": "d" * 24, "hidden": "e" * 24, "item": 3, "order": 4, "review": "f" * 24}
    dummy |= {"parent": "9" * 24, "paid_order": 5, "payment": 6, "opened": 7, "webhook": 8, "delivery": 9}
    covered = {(row.method, resolve(row.path.split("?")[0].format(**dummy)).route) for row in ROWS}

    assert _api_routes(get_resolver().url_patterns) - covered == set()
    # Each success is checked by a field of its body (204s by the stores), each write by the stores.
    assert [row.name for row in ROWS if row.ok is None and any(200 <= s < 204 for s in row.expect)] == []
    assert [row.name for row in ROWS if row.method != "GET" and row.state is None and "/auth/" not in row.path] == []
    # The 46 routes of shared/API.md before variants, payments and events, and PATCH beside 4 PUTs;
    # then 2 of variants, 5 of payments, 11 of events and webhooks (PUT beside PATCH there).
    assert len(covered) == 68


# --- fields nobody may write (OWASP API3: mass assignment) ---------------------------------


def test_user_update_ignores_fields_nobody_writes(world):
    before = User.objects.get(pk=world.owner.pk)
    body = {"first_name": "Olivia", "is_superuser": True, "is_active": False, "id": 999, "date_joined": "2000-01-01"}

    response = client_for(world.owner).put(f"/api/users/{world.owner.pk}", body, format="json")

    assert response.status_code == 200 and response.json()["id"] == world.owner.pk
    after = User.objects.get(pk=world.owner.pk)
    assert (after.first_name, after.is_superuser, after.is_active, after.date_joined) == (
        "Olivia",
        False,
        True,
        before.date_joined,
    )
    assert not User.objects.filter(pk=999).exists()


def test_order_placement_ignores_status_total_email_and_prices_sent(world):
    body = {
        "items": [{"product_id": world.p.id, "quantity": 2, "unit_price": "0.01", "name": "Free"}],
        "shipping_address": ADDRESS,
        "status": "paid",
        "total": "0.01",
        "email": "thief@example.com",
        "currency": "EUR",
    }

    response = client_for(world.owner).post("/api/orders", body, format="json")

    assert response.status_code == 201
    data = response.json()
    assert (data["status"], data["total"], data["email"], data["currency"]) == (
        "pending",
        "50.00",
        world.owner.email,
        "USD",
    )
    order = Order.objects.get(pk=data["id"])
    assert (order.status, order.total, order.email) == ("pending", Decimal("50.00"), world.owner.email)


def test_review_is_the_callers_whatever_user_id_or_count_is_sent(world):
    body = {"product_id": world.q.id, "rating": 3, "title": "Fine", "user_id": world.owner.pk, "helpful_count": 99}

    response = client_for(world.other).post("/api/reviews", body, format="json")

    assert response.status_code == 201
    assert (response.json()["user_id"], response.json()["helpful_count"]) == (world.other.pk, 0)
    stored = mongo.get_db()[reviews_repository.REVIEWS].find_one({"product_id": world.q.id})
    assert (stored["user_id"], stored["helpful_count"]) == (world.other.pk, 0)


def test_cart_prices_come_from_the_catalog_not_the_body(world):
    body = {"product_id": world.q.id, "quantity": 1, "unit_price": "0.01"}

    response = client_for(world.owner).post(f"/api/cart/{world.owner.pk}/items", body, format="json")

    assert response.status_code == 201
    assert response.json()["total"] == "62.00"  # 2 x 25.00 + 12.00


def test_staff_cannot_set_reserved_stock_directly(world):
    response = client_for(world.staff).put(
        f"/api/inventory/{world.q.id}", {"reserved": 0, "quantity": 10}, format="json"
    )

    assert response.status_code == 200
    assert Inventory.objects.using(MYSQL).values_list("quantity", "reserved").get(product_id=world.q.id) == (10, 1)


# --- tokens of accounts that are gone (OWASP API2) -----------------------------------------


def test_tokens_of_a_deleted_account_are_refused_not_a_crash(world):
    access = client_for(world.other)
    refresh = str(RefreshToken.for_user(world.other))
    world.other.delete()

    used = access.get("/api/users/me")
    refreshed = client_for(None).post("/api/auth/token/refresh", {"refresh": refresh}, format="json")

    assert used.status_code == refreshed.status_code == 401
    assert used.json()["error"]["code"] == refreshed.json()["error"]["code"] == "authentication_failed"


def test_tokens_of_a_deactivated_account_are_refused(world):
    access = client_for(world.other)
    refresh = str(RefreshToken.for_user(world.other))
    User.objects.filter(pk=world.other.pk).update(is_active=False)

    used = access.get("/api/users/me")
    refreshed = client_for(None).post("/api/auth/token/refresh", {"refresh": refresh}, format="json")

    assert used.status_code == refreshed.status_code == 401
    assert used.json()["error"]["code"] == refreshed.json()["error"]["code"] == "authentication_failed"


# --- the back office (/admin/): staff only, and only what their permissions allow ------------

ADMIN_ROLES = ("anon", "customer", "staff", "clerk", "superuser")
# A clerk is staff with the view permissions of the catalog, reviews, stock and orders.
CLERK_PERMISSIONS = ["view_product", "view_category", "view_review", "view_inventory", "view_order"]
LOGIN = 302  # the admin answers anyone not staff with its login page


@dataclass(frozen=True)
class AdminRow:
    method: str
    path: str
    expect: tuple[int, int, int, int, int]  # for ADMIN_ROLES
    body: Callable[[World], dict] | None = None
    state: Callable[[World], object] | None = None
    hidden: Callable[[World], list[str]] | None = None  # secrets the page never shows, even to a superuser


def _webhook_secrets(w: World) -> list[str]:
    return [w.webhook_secret, Webhook.objects.get(pk=w.webhook_id).secret_encrypted]


ADMIN_ROWS = [
    AdminRow("GET", "/admin/", (LOGIN, LOGIN, 200, 200, 200)),
    AdminRow("GET", "/admin/catalog/product/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/catalog/product/add/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/catalog/product/{P}/change/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/catalog/product/{P}/delete/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow(
        "POST",
        "/admin/catalog/product/",
        (LOGIN, LOGIN, 403, 403, 302),
        body=lambda w: {"action": "deactivate", "_selected_action": [w.p.id]},
        state=lambda w: catalog_selectors.product_get(product_id=w.p.id, include_inactive=True).is_active,
    ),
    AdminRow("GET", "/admin/catalog/category/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/catalog/category/{empty}/delete/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/reviews/review/?product={P}", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow(
        "POST",
        "/admin/reviews/review/{review}/delete/",
        (LOGIN, LOGIN, 403, 403, 302),
        body=lambda w: {"post": "yes"},
        state=lambda w: _review(w) is not None,
    ),
    AdminRow("GET", "/admin/inventory/inventory/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/inventory/inventory/{P}/change/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/inventory/inventory/add/", (LOGIN, LOGIN, 403, 403, 403)),
    AdminRow(
        "POST",
        "/admin/inventory/inventory/{P}/change/",
        (LOGIN, LOGIN, 403, 403, 302),
        body=lambda w: {"quantity": "7", "low_stock_threshold": "10", "restock": ""},
        state=_stock,
    ),
    AdminRow("GET", "/admin/orders/order/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("GET", "/admin/orders/order/{order}/change/", (LOGIN, LOGIN, 403, 200, 200)),
    AdminRow("POST", "/admin/orders/order/{order}/status/paid/", (LOGIN, LOGIN, 403, 403, 302), state=_order_status),
    AdminRow("GET", "/admin/cart/cartitem/add/", (LOGIN, LOGIN, 403, 403, 403)),
    AdminRow("GET", "/admin/users/user/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/catalog/product/{parent}/change/", (LOGIN, LOGIN, 403, 200, 200)),
    # Payments and events are read-only, and for staff given their view permissions.
    AdminRow("GET", "/admin/payments/payment/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow(
        "GET",
        "/admin/payments/payment/{payment}/change/",
        (LOGIN, LOGIN, 403, 403, 200),
        hidden=lambda w: [Payment.objects.get(pk=w.payment_id).client_secret],
    ),
    AdminRow("GET", "/admin/payments/payment/add/", (LOGIN, LOGIN, 403, 403, 403)),
    AdminRow("GET", "/admin/payments/refund/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/payments/webhookevent/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/events/event/", (LOGIN, LOGIN, 403, 403, 200)),
    AdminRow("GET", "/admin/events/webhook/", (LOGIN, LOGIN, 403, 403, 200), hidden=_webhook_secrets),
    AdminRow("GET", "/admin/events/webhook/{webhook}/change/", (LOGIN, LOGIN, 403, 403, 200), hidden=_webhook_secrets),
    AdminRow(
        "POST",
        "/admin/events/webhook/{webhook}/delete/",
        (LOGIN, LOGIN, 403, 403, 403),
        body=lambda w: {"post": "yes"},
        state=_webhook,
    ),
    AdminRow("GET", "/admin/events/delivery/", (LOGIN, LOGIN, 403, 403, 200)),
]


def _admin_client(world: World, role: str):
    from django.contrib.auth.models import Permission
    from django.test import Client

    client = Client()
    user = {"customer": world.owner, "staff": world.staff}.get(role)
    if role == "clerk":
        user = make_user("clerk@example.com", staff=True)
        user.user_permissions.add(*Permission.objects.filter(codename__in=CLERK_PERMISSIONS))
    elif role == "superuser":
        user = make_user("boss@example.com", staff=True, is_superuser=True)
    if user is not None:
        client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("row", "role", "expected"),
    [
        pytest.param(row, role, expected, id=f"{row.method} {row.path}-{role}")
        for row in ADMIN_ROWS
        for role, expected in zip(ADMIN_ROLES, row.expect, strict=True)
    ],
)
def test_admin_page_answers_each_role_as_its_permissions_allow(world, row, role, expected):
    path = world.path(row.path)
    before = row.state(world) if row.state else None
    client = _admin_client(world, role)
    body = row.body(world) if row.body else {}

    response = getattr(client, row.method.lower())(path, body)

    assert response.status_code == expected
    if expected == LOGIN and role in ("anon", "customer"):
        assert response["Location"].startswith("/admin/login/")
    if row.hidden is not None:
        shown = response.content.decode()
        assert [secret for secret in row.hidden(world) if secret in shown] == []
    if row.state is not None:
        after = row.state(world)
        assert (after != before) == (expected == 302 and role == "superuser"), (
            "only an allowed write changes the stores"
        )
