"""A path id is matched whole: "<24 hex>\\n" (…%0A) names nothing, so every route answers 404
in the contract's shape, changes nothing, and never a 500 (issue 12, item 6)."""

from decimal import Decimal

import pytest

from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from inventory.models import Inventory
from reviews import services as reviews_services

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture
def shop(db):
    staff = make_user("staff@example.com", staff=True)
    author = make_user("author@example.com")
    category = catalog_services.category_create(name="Kitchen")
    product = catalog_services.product_create(name="Kettle", price=Decimal("25.00"), initial_stock=5)
    review = reviews_services.review_create(actor=author, product_id=product.id, rating=5, title="Good")
    return {"staff": staff, "author": author, "P": product.id, "C": category.id, "R": review.id}


NL = "%0A"
ROUTES = [
    ("anon", "get", "/api/reviews/product/{P}" + NL, None),
    ("anon", "get", "/api/products/category/{C}" + NL, None),
    ("anon", "get", "/api/products/{P}" + NL, None),
    ("anon", "get", "/api/categories/{C}" + NL, None),
    ("author", "delete", "/api/reviews/{R}" + NL, None),
    ("author", "post", "/api/reviews/{R}" + NL + "/helpful", None),
    ("staff", "get", "/api/inventory/{P}" + NL, None),
    ("staff", "put", "/api/inventory/{P}" + NL, {"quantity": 1}),
    ("staff", "patch", "/api/inventory/{P}" + NL, {"low_stock_threshold": 1}),
    ("staff", "post", "/api/inventory/{P}" + NL + "/restock", {"quantity": 1}),
    ("staff", "patch", "/api/products/{P}" + NL, {"name": "Changed"}),
    ("staff", "delete", "/api/products/{P}" + NL, None),
    ("author", "delete", "/api/wishlist/{author_id}/items/{P}" + NL, None),
    ("staff", "get", "/api/users/{author_id}" + NL, None),
    ("staff", "get", "/api/users/{author_id}" + NL + "/orders", None),
    ("staff", "get", "/api/cart/{author_id}" + NL, None),
]


@pytest.mark.parametrize(("who", "method", "path", "body"), ROUTES, ids=[f"{m.upper()} {p}" for _, m, p, _ in ROUTES])
def test_an_id_with_a_trailing_newline_is_a_404(shop, who, method, path, body):
    client = client_for(shop.get(who))
    url = path.format(author_id=shop["author"].pk, **shop)

    response = getattr(client, method)(url, body, format="json") if body else getattr(client, method)(url)

    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    assert Inventory.objects.using(MYSQL).get(product_id=shop["P"]).quantity == 5
    db = mongo.get_db()
    assert [d["name"] for d in db.products.find({})] == ["Kettle"]
    assert db.reviews.count_documents({}) == 1


@pytest.mark.parametrize(
    "value", ["0123456789abcdef01234567\n", "0123456789abcdef01234567\r", "\n0123456789abcdef01234567"]
)
def test_the_shared_check_refuses_anything_but_24_hex(value):
    assert mongo.is_object_id("0123456789ABCDEF01234567")
    assert not mongo.is_object_id(value)
