"""Query budgets (issue #9, item 2): what each list and detail endpoint costs per request.

Every list and detail endpoint of API.md is called with its proper role over small data (one item in the
page, cart, wishlist or review list; one line per order) and again over large data (15 items;
three lines per order, fifteen for an order's detail). Both calls must cost exactly the pinned
number of SQL statements on PostgreSQL (`default`) and on MariaDB (`mysql`), and of MongoDB
round trips: equal at both sizes means no N+1, equal to the pin means a new query shows up as a
failing test that lists every statement sent.

An authenticated call always spends one `default` query: the JWT authentication loading the user.
The catalog read cache is switched off here, so catalog reads reach MongoDB.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import DailySales, ProductSales
from cart import services as cart_services
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.testing.budgets import Budget, Captured, capture, check_budget
from ecommerce.testing.helpers import client_for, make_user
from inventory import services as inventory_services
from inventory.models import Inventory
from orders import services as order_services
from reviews import services as review_services

pytestmark = pytest.mark.django_db(databases="__all__")

SMALL, LARGE = 1, 15

# endpoint → (SQL on default, SQL on mysql, MongoDB round trips) per request, at every size.
BUDGETS = {
    "GET /api/users": Budget(default=3, mysql=0, mongo=0),
    # Self: the user loaded by the authentication is the answer; staff load the other user.
    "GET /api/users/{id} (self)": Budget(default=1, mysql=0, mongo=0),
    "GET /api/users/{id} (staff)": Budget(default=2, mysql=0, mongo=0),
    "GET /api/users/me": Budget(default=1, mysql=0, mongo=0),
    "GET /api/users/{id}/orders (self)": Budget(default=4, mysql=0, mongo=0),
    "GET /api/users/{id}/orders (staff)": Budget(default=5, mysql=0, mongo=0),
    "GET /api/categories": Budget(default=0, mysql=0, mongo=2),
    "GET /api/categories/{id}": Budget(default=0, mysql=0, mongo=1),
    "GET /api/products": Budget(default=0, mysql=0, mongo=2),
    "GET /api/products/search": Budget(default=0, mysql=0, mongo=2),
    "GET /api/products/category/{category}": Budget(default=0, mysql=0, mongo=5),
    "GET /api/products/{id}": Budget(default=0, mysql=0, mongo=1),
    # Parents: the page's variants' stock in one MySQL query, however many parents and variants.
    "GET /api/products (parents)": Budget(default=0, mysql=1, mongo=2),
    "GET /api/products/search (parents)": Budget(default=0, mysql=1, mongo=2),
    "GET /api/products/category/{category} (parents)": Budget(default=0, mysql=1, mongo=4),
    "GET /api/products/{id} (parent)": Budget(default=0, mysql=1, mongo=1),
    "GET /api/products/{id}/variants": Budget(default=0, mysql=0, mongo=3),
    # A variant answers its parent's rating: one more read.
    "GET /api/products/{id} (variant)": Budget(default=0, mysql=0, mongo=2),
    "GET /api/inventory": Budget(default=1, mysql=2, mongo=0),
    "GET /api/inventory/low-stock": Budget(default=1, mysql=2, mongo=0),
    "GET /api/inventory/{product_id}": Budget(default=1, mysql=1, mongo=0),
    "GET /api/inventory?product_id={parent}": Budget(default=1, mysql=2, mongo=0),
    "GET /api/cart/{user_id} (owner)": Budget(default=2, mysql=0, mongo=1),
    "GET /api/cart/{user_id} (staff)": Budget(default=3, mysql=0, mongo=1),
    "GET /api/orders (customer)": Budget(default=4, mysql=0, mongo=0),
    "GET /api/orders (staff)": Budget(default=4, mysql=0, mongo=0),
    "GET /api/orders/{id} (owner)": Budget(default=3, mysql=0, mongo=0),
    "GET /api/orders/{id} (staff)": Budget(default=3, mysql=0, mongo=0),
    "GET /api/analytics/sales": Budget(default=1, mysql=1, mongo=0),
    "GET /api/analytics/popular-products": Budget(default=1, mysql=2, mongo=0),
    # Grouped by parent: the parents' names in one catalog read.
    "GET /api/analytics/popular-products?group=parent": Budget(default=1, mysql=2, mongo=1),
    "GET /api/analytics/revenue": Budget(default=1, mysql=1, mongo=0),
    "GET /api/reviews/product/{product_id}": Budget(default=0, mysql=0, mongo=3),
    "GET /api/wishlist/{user_id} (owner)": Budget(default=1, mysql=0, mongo=2),
    "GET /api/wishlist/{user_id} (staff)": Budget(default=2, mysql=0, mongo=2),
}

ADDRESS = {"line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}


@pytest.fixture(params=["owner", "staff"])
def owner_or_staff(request, customer, staff):
    """(role, client) for endpoints of a customer's own objects: the owner, then staff."""
    role = request.param
    return role, client_for(customer if role == "owner" else staff)


@pytest.fixture(autouse=True)
def _no_catalog_cache(settings):
    # Catalog reads must reach MongoDB even where REDIS_URL happens to be set.
    settings.CATALOG_CACHE_SECONDS = 0


# --- data ----------------------------------------------------------------------------


def make_products(count: int, *, start: int = 0, stock: int = 100, **fields) -> list[str]:
    return [
        catalog_services.product_create(
            name=f"Lamp {i:03d}", price=Decimal("10.00") + i, initial_stock=stock, **fields
        ).id
        for i in range(start, start + count)
    ]


def make_parents(count: int, *, variants: int, start: int = 0, **fields) -> list[str]:
    """`count` parents (Size x Colour), each with `variants` variants in stock, oldest first."""
    parents = []
    for i in range(start, start + count):
        parent = catalog_services.product_create(name=f"Tee {i:03d}", option_names=["Size", "Colour"], **fields)
        add_variants(parent.id, variants, tag=f"{i:03d}")
        parents.append(parent.id)
    return parents


def add_variants(parent_id: str, count: int, *, tag: str, start: int = 0) -> None:
    for v in range(start, start + count):
        catalog_services.variant_create(
            parent_id=parent_id,
            sku=f"SKU-{tag}-{v:02d}",
            options={"Size": f"S{v}", "Colour": "Red"},
            price=Decimal("10.00") + v,
            initial_stock=v % 2,  # in stock and out of stock both answered
        )


def place_orders(user, product_ids: list[str], *, orders: int, lines: int) -> list[int]:
    """`orders` orders of `user`, each of `lines` lines taken in turn from `product_ids`."""
    placed = []
    for n in range(orders):
        items = [{"product_id": product_ids[(n + i) % len(product_ids)], "quantity": 1 + i} for i in range(lines)]
        placed.append(order_services.order_place(user=user, items=items, shipping_address=ADDRESS).order.pk)
    return placed


def make_users(count: int, *, start: int = 0) -> list:
    return [make_user(f"shopper{i}@example.com", first_name=f"Shopper{i}") for i in range(start, start + count)]


# --- measuring -----------------------------------------------------------------------


def measure(client, path: str) -> tuple[Captured, dict]:
    """GET `path` (200 expected): what it sent to the stores, and the answer."""
    with capture() as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.content[:500])
    return captured, response.json()


def results(body) -> int:
    return len(body["results"])


def items(body) -> int:
    return len(body["items"])


class Sizes:
    """Runs one endpoint over small then large data and checks both against its pinned budget."""

    def __init__(self, endpoint: str, client, path: str, count=results):
        self.endpoint = endpoint
        self.client = client
        self.path = path
        self.count = count
        self.small: Captured | None = None
        self.small_size = ""

    def warm_up(self) -> None:
        # The first request of a process may pay one-off costs (lazy clients, caches): not per request.
        self.client.get(self.path)

    def run_small(self, expected: object, *, size: str | None = None) -> None:
        """Measure over the small data; `count(answer)` must be `expected`. `size` names the
        data for a failure message when it is not the items of the answer."""
        self.warm_up()
        self.small, body = measure(self.client, self.path)
        assert self.count(body) == expected, body
        self.small_size = size or f"{expected} items"

    def run_large(self, expected: object, *, size: str | None = None, path: str | None = None) -> None:
        """Measure again over the grown data (or at `path`, another object of the larger size)."""
        assert self.small is not None, "run_small first"
        large, body = measure(self.client, path or self.path)
        assert self.count(body) == expected, body
        check_budget(
            self.endpoint,
            BUDGETS[self.endpoint],
            self.small,
            large,
            sizes=f"{self.small_size} vs {size or f'{expected} items'}",
        )


# --- users ---------------------------------------------------------------------------


def test_users_list_costs_the_same_for_one_or_fifteen_users(staff):
    sizes = Sizes("GET /api/users", client_for(staff), "/api/users")
    sizes.run_small(1)
    make_users(14)
    sizes.run_large(15)


def test_user_detail_costs_the_same_however_many_orders_the_user_has(customer, owner_or_staff):
    role, client = owner_or_staff
    product_ids = make_products(3)
    place_orders(customer, product_ids, orders=1, lines=1)
    endpoint = f"GET /api/users/{{id}} ({'self' if role == 'owner' else role})"
    sizes = Sizes(endpoint, client, f"/api/users/{customer.pk}", count=lambda body: body["id"])
    sizes.run_small(customer.pk, size="1 order of 1 line")
    place_orders(customer, product_ids, orders=14, lines=3)
    make_users(14)
    sizes.run_large(customer.pk, size="15 orders (14 of 3 lines), 14 more users")


def test_users_me_costs_only_the_authentication(customer):
    product_ids = make_products(3)
    place_orders(customer, product_ids, orders=1, lines=1)
    sizes = Sizes("GET /api/users/me", client_for(customer), "/api/users/me", count=lambda body: body["id"])
    sizes.run_small(customer.pk, size="1 order of 1 line")
    place_orders(customer, product_ids, orders=14, lines=3)
    sizes.run_large(customer.pk, size="15 orders (14 of 3 lines)")


def test_user_orders_cost_the_same_for_one_or_fifteen_orders_of_three_lines(customer, owner_or_staff):
    role, client = owner_or_staff
    product_ids = make_products(3)
    place_orders(customer, product_ids, orders=SMALL, lines=1)
    endpoint = f"GET /api/users/{{id}}/orders ({'self' if role == 'owner' else role})"
    sizes = Sizes(endpoint, client, f"/api/users/{customer.pk}/orders")
    sizes.run_small(SMALL)
    place_orders(customer, product_ids, orders=LARGE - SMALL, lines=3)
    sizes.run_large(LARGE)


# --- catalog -------------------------------------------------------------------------


def test_categories_list_costs_the_same_for_one_or_fifteen_categories(anon_client):
    catalog_services.category_create(name="Category 00")
    sizes = Sizes("GET /api/categories", anon_client, "/api/categories")
    sizes.run_small(1)
    for i in range(1, LARGE):
        catalog_services.category_create(name=f"Category {i:02d}")
    sizes.run_large(LARGE)


def test_category_detail_costs_the_same_with_one_or_fifteen_children(anon_client):
    root = catalog_services.category_create(name="Lighting")
    catalog_services.category_create(name="Child 00", parent_id=root.id)
    sizes = Sizes(
        "GET /api/categories/{id}",
        anon_client,
        f"/api/categories/{root.id}",
        count=lambda body: body["name"] == "Lighting",
    )
    sizes.run_small(True, size="1 child")
    for i in range(1, LARGE):
        catalog_services.category_create(name=f"Child {i:02d}", parent_id=root.id)
    make_products(LARGE, category_id=root.id)
    sizes.run_large(True, size="15 children, 15 products")


def test_products_list_costs_the_same_for_one_or_fifteen_products(anon_client):
    make_products(SMALL)
    sizes = Sizes("GET /api/products", anon_client, "/api/products")
    sizes.run_small(SMALL)
    make_products(LARGE - SMALL, start=SMALL)
    sizes.run_large(LARGE)


def test_products_search_costs_the_same_for_one_or_fifteen_matches(anon_client):
    make_products(SMALL)
    sizes = Sizes("GET /api/products/search", anon_client, "/api/products/search?q=lamp")
    sizes.run_small(SMALL)
    make_products(LARGE - SMALL, start=SMALL)
    sizes.run_large(LARGE)


def test_products_of_a_category_cost_the_same_for_one_or_fifteen_products_and_more_children(anon_client):
    """A root with sub-categories (the tree is walked one level per query: its depth is fixed
    here, the number of children at a level and of products are not)."""
    root = catalog_services.category_create(name="Lighting")
    first_child = catalog_services.category_create(name="Desk lamps", parent_id=root.id)
    make_products(SMALL, category_id=first_child.id)
    sizes = Sizes("GET /api/products/category/{category}", anon_client, "/api/products/category/lighting")
    sizes.run_small(SMALL)
    children = [first_child.id] + [
        catalog_services.category_create(name=f"Floor lamps {i}", parent_id=root.id).id for i in range(2)
    ]
    for i in range(SMALL, LARGE):
        make_products(1, start=i, category_id=children[i % len(children)])
    sizes.run_large(LARGE)


def test_a_page_of_parents_costs_the_same_for_one_or_fifteen_parents_of_many_variants(anon_client):
    make_parents(SMALL, variants=1)
    sizes = Sizes("GET /api/products (parents)", anon_client, "/api/products")
    sizes.run_small(SMALL)
    make_parents(LARGE - SMALL, variants=6, start=SMALL)
    sizes.run_large(LARGE, size="15 parents of 6 variants")


def test_searching_parents_by_their_variants_skus_costs_the_same_for_one_or_fifteen(anon_client):
    make_parents(SMALL, variants=1)
    sizes = Sizes("GET /api/products/search (parents)", anon_client, "/api/products/search?q=sku-")
    sizes.run_small(SMALL)
    make_parents(LARGE - SMALL, variants=4, start=SMALL)
    sizes.run_large(LARGE, size="15 parents of 4 variants")


def test_parents_of_a_category_cost_the_same_for_one_or_fifteen(anon_client):
    shirts = catalog_services.category_create(name="Shirts")
    make_parents(SMALL, variants=1, category_id=shirts.id)
    sizes = Sizes("GET /api/products/category/{category} (parents)", anon_client, "/api/products/category/shirts")
    sizes.run_small(SMALL)
    make_parents(LARGE - SMALL, variants=4, start=SMALL, category_id=shirts.id)
    sizes.run_large(LARGE, size="15 parents of 4 variants")


def test_a_parent_costs_the_same_with_one_or_fifteen_variants(anon_client):
    [parent_id] = make_parents(1, variants=1)
    sizes = Sizes(
        "GET /api/products/{id} (parent)",
        anon_client,
        f"/api/products/{parent_id}",
        count=lambda body: len(body["variants"]),
    )
    sizes.run_small(1, size="1 variant")
    add_variants(parent_id, LARGE - 1, tag="000", start=1)
    sizes.run_large(LARGE, size="15 variants")


def test_a_variant_costs_the_same_with_one_or_fifteen_reviews_of_its_parent(anon_client):
    [parent_id] = make_parents(1, variants=1)
    variant_id = anon_client.get(f"/api/products/{parent_id}").json()["variants"][0]["id"]
    reviewers = make_users(LARGE)
    review_services.review_create(actor=reviewers[0], product_id=variant_id, rating=5, title="Good")
    sizes = Sizes(
        "GET /api/products/{id} (variant)",
        anon_client,
        f"/api/products/{variant_id}",
        count=lambda body: body["rating"]["count"],
    )
    sizes.run_small(1, size="1 review")
    for reviewer in reviewers[1:]:
        review_services.review_create(actor=reviewer, product_id=variant_id, rating=4, title="Fine")
    sizes.run_large(LARGE, size="15 reviews")


def test_the_variants_of_a_parent_cost_the_same_for_one_or_fifteen(anon_client):
    [parent_id] = make_parents(1, variants=1)
    sizes = Sizes("GET /api/products/{id}/variants", anon_client, f"/api/products/{parent_id}/variants")
    sizes.run_small(1)
    add_variants(parent_id, LARGE - 1, tag="000", start=1)
    sizes.run_large(LARGE)


def test_product_detail_costs_the_same_with_one_or_fifteen_reviews(anon_client):
    [product_id] = make_products(1)
    reviewers = make_users(LARGE)
    review_services.review_create(actor=reviewers[0], product_id=product_id, rating=5, title="Good")
    sizes = Sizes(
        "GET /api/products/{id}", anon_client, f"/api/products/{product_id}", count=lambda b: b["rating"]["count"]
    )
    sizes.run_small(1, size="1 review")
    for reviewer in reviewers[1:]:
        review_services.review_create(actor=reviewer, product_id=product_id, rating=4, title="Fine")
    sizes.run_large(LARGE, size="15 reviews")


# --- inventory -----------------------------------------------------------------------


def test_inventory_list_costs_the_same_for_one_or_fifteen_rows(staff):
    make_products(SMALL)
    sizes = Sizes("GET /api/inventory", client_for(staff), "/api/inventory")
    sizes.run_small(SMALL)
    make_products(LARGE - SMALL, start=SMALL)
    sizes.run_large(LARGE)


def test_low_stock_costs_the_same_for_one_or_fifteen_rows(staff):
    make_products(SMALL, stock=2)
    make_products(3, start=100, stock=500)  # not low: filtered out by the query, never fetched
    sizes = Sizes("GET /api/inventory/low-stock", client_for(staff), "/api/inventory/low-stock")
    sizes.run_small(SMALL)
    make_products(LARGE - SMALL, start=SMALL, stock=3)
    sizes.run_large(LARGE)


def test_inventory_detail_costs_the_same_with_one_or_fifteen_open_orders(staff, customer):
    product_ids = make_products(1)
    place_orders(customer, product_ids, orders=1, lines=1)
    sizes = Sizes(
        "GET /api/inventory/{product_id}",
        client_for(staff),
        f"/api/inventory/{product_ids[0]}",
        count=lambda b: b["reserved"],
    )
    sizes.run_small(1, size="1 open order")
    place_orders(customer, product_ids, orders=LARGE - 1, lines=1)
    sizes.run_large(LARGE, size="15 open orders")


def test_a_parents_stock_rows_cost_the_same_for_one_or_fifteen_variants(staff):
    [parent_id] = make_parents(1, variants=1)
    make_products(3)  # other rows: filtered out by the query, never fetched
    path = f"/api/inventory?product_id={parent_id}"
    sizes = Sizes("GET /api/inventory?product_id={parent}", client_for(staff), path)
    sizes.run_small(SMALL)
    add_variants(parent_id, LARGE - 1, tag="000", start=1)
    sizes.run_large(LARGE)


# --- cart ----------------------------------------------------------------------------


def test_cart_costs_the_same_for_one_or_fifteen_items(customer, owner_or_staff):
    role, client = owner_or_staff
    product_ids = make_products(LARGE)
    cart_services.cart_item_add(user_id=customer.pk, product_id=product_ids[0], quantity=2)
    sizes = Sizes(f"GET /api/cart/{{user_id}} ({role})", client, f"/api/cart/{customer.pk}", count=items)
    sizes.run_small(SMALL)
    for product_id in product_ids[SMALL:]:
        cart_services.cart_item_add(user_id=customer.pk, product_id=product_id, quantity=1)
    sizes.run_large(LARGE)


# --- orders --------------------------------------------------------------------------


def test_own_orders_cost_the_same_for_one_or_fifteen_orders_of_three_lines(customer, other_customer):
    product_ids = make_products(3)
    place_orders(customer, product_ids, orders=SMALL, lines=1)
    place_orders(other_customer, product_ids, orders=2, lines=2)  # not the caller's: filtered out
    sizes = Sizes("GET /api/orders (customer)", client_for(customer), "/api/orders")
    sizes.run_small(SMALL)
    place_orders(customer, product_ids, orders=LARGE - SMALL, lines=3)
    sizes.run_large(LARGE)


def test_all_orders_for_staff_cost_the_same_for_one_or_fifteen_orders_of_three_lines(staff, customer, other_customer):
    product_ids = make_products(3)
    place_orders(customer, product_ids, orders=SMALL, lines=1)
    sizes = Sizes("GET /api/orders (staff)", client_for(staff), "/api/orders")
    sizes.run_small(SMALL)
    place_orders(customer, product_ids, orders=7, lines=3)
    place_orders(other_customer, product_ids, orders=LARGE - SMALL - 7, lines=3)
    sizes.run_large(LARGE)


def test_order_detail_costs_the_same_for_one_or_fifteen_lines(customer, owner_or_staff):
    role, client = owner_or_staff
    product_ids = make_products(LARGE)
    [small_order] = place_orders(customer, product_ids, orders=1, lines=1)
    [large_order] = place_orders(customer, product_ids, orders=1, lines=LARGE)
    sizes = Sizes(f"GET /api/orders/{{id}} ({role})", client, f"/api/orders/{small_order}", count=items)
    sizes.run_small(1, size="1 line")
    sizes.run_large(LARGE, path=f"/api/orders/{large_order}", size="15 lines")


# --- analytics -----------------------------------------------------------------------


def _past_sales(product_ids: list[str], days: int) -> None:
    """Figures for `days` earlier days, written in bulk (as manage.py seed does)."""
    today = timezone.now().date()
    DailySales.objects.using(MYSQL).bulk_create(
        [
            DailySales(date=today - timedelta(days=d), orders=3, units=5, revenue=Decimal("50.00"))
            for d in range(1, days + 1)
        ]
    )
    ProductSales.objects.using(MYSQL).bulk_create(
        [
            ProductSales(
                date=today - timedelta(days=d),
                product_id=product_id,
                name=f"Lamp {product_id[-4:]}",
                orders=1,
                units=2,
                revenue=Decimal("20.00"),
            )
            for d in range(1, days + 1)
            for product_id in product_ids
        ]
    )


def _days_with_sales(body) -> int:
    return sum(1 for point in body["series"] if point["orders"])


@pytest.mark.parametrize(
    ("endpoint", "path", "count"),
    [
        ("GET /api/analytics/sales", "/api/analytics/sales", _days_with_sales),
        ("GET /api/analytics/popular-products", "/api/analytics/popular-products?limit=20", results),
        ("GET /api/analytics/revenue", "/api/analytics/revenue", lambda body: body["orders"]),
    ],
)
def test_analytics_cost_the_same_for_one_or_fifteen_products_days_and_orders(endpoint, path, count, staff, customer):
    product_ids = make_products(LARGE)
    place_orders(customer, product_ids[:1], orders=1, lines=1)
    sizes = Sizes(endpoint, client_for(staff), path, count=count)
    sizes.run_small(1, size="1 order of 1 product on 1 day")
    place_orders(customer, product_ids, orders=LARGE - 1, lines=3)
    _past_sales(product_ids, days=LARGE - 1)
    expected = {
        "GET /api/analytics/sales": LARGE,  # today and 14 earlier days
        "GET /api/analytics/popular-products": LARGE,  # every product sold
        "GET /api/analytics/revenue": LARGE + 3 * (LARGE - 1),  # today's orders and the earlier days'
    }[endpoint]
    sizes.run_large(expected, size="15 orders of 15 products today, and 14 earlier days of sales")


def _stocked_variants(parent_ids: list[str]) -> list[str]:
    """The parents' variants, each given stock to sell, oldest parent first."""
    rows = dict(Inventory.objects.using(MYSQL).filter(parent_id__in=parent_ids).values_list("parent_id", "product_id"))
    for variant_id in rows.values():
        inventory_services.inventory_set(product_id=variant_id, quantity=100)
    return [rows[parent_id] for parent_id in parent_ids]


def test_popular_products_by_parent_cost_the_same_for_one_or_fifteen_parents(staff, customer):
    place_orders(customer, _stocked_variants(make_parents(SMALL, variants=1)), orders=1, lines=1)
    path = "/api/analytics/popular-products?group=parent&limit=20"
    sizes = Sizes("GET /api/analytics/popular-products?group=parent", client_for(staff), path)
    sizes.run_small(SMALL, size="1 parent sold")
    more = _stocked_variants(make_parents(LARGE - SMALL, variants=1, start=SMALL))
    place_orders(customer, more, orders=LARGE - SMALL, lines=1)
    sizes.run_large(LARGE, size="15 parents sold")


# --- reviews and wishlists -----------------------------------------------------------


def test_reviews_of_a_product_cost_the_same_for_one_or_fifteen_reviews(anon_client):
    [product_id] = make_products(1)
    reviewers = make_users(LARGE)
    review_services.review_create(actor=reviewers[0], product_id=product_id, rating=5, title="Good")
    sizes = Sizes("GET /api/reviews/product/{product_id}", anon_client, f"/api/reviews/product/{product_id}")
    sizes.run_small(SMALL)
    for reviewer in reviewers[SMALL:]:
        review_services.review_create(actor=reviewer, product_id=product_id, rating=4, title="Fine", body="Works.")
    sizes.run_large(LARGE)


def test_wishlist_costs_the_same_for_one_or_fifteen_items(customer, owner_or_staff):
    role, client = owner_or_staff
    product_ids = make_products(LARGE)
    review_services.wishlist_item_add(actor=customer, user_id=customer.pk, product_id=product_ids[0])
    sizes = Sizes(f"GET /api/wishlist/{{user_id}} ({role})", client, f"/api/wishlist/{customer.pk}", count=items)
    sizes.run_small(SMALL)
    for product_id in product_ids[SMALL:]:
        review_services.wishlist_item_add(actor=customer, user_id=customer.pk, product_id=product_id)
    sizes.run_large(LARGE)


# --- the helper itself ---------------------------------------------------------------


def test_a_query_more_than_pinned_fails_with_every_statement_listed(customer):
    """The budget check is not vacuous: one extra query fails it and names the statements."""
    from users.models import User

    with capture() as small:
        User.objects.filter(pk=customer.pk).first()
    with capture() as large:
        User.objects.filter(pk=customer.pk).first()
        list(User.objects.all())
    with pytest.raises(AssertionError) as failure:
        check_budget("GET /example", Budget(default=1, mysql=0, mongo=0), small, large, sizes="1 vs 2")
    message = str(failure.value)
    assert "grows with the data" in message
    assert "large data:   SQL default=2, SQL mysql=0, Mongo=0" in message
    assert message.count('FROM "users_user"') == 3
