"""Catalog test data: bulk product documents and categories."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog import repository, services
from ecommerce.stores import mongo


def insert_products(count: int = 1, *, start: int = 0, **fields) -> list[str]:
    """Product documents in one insert_many (no inventory rows): for listings, where only
    MongoDB matters and nx-27017 does ~1,500 operations a second. Each is a second older
    than the one before, so `-created_at` lists them in order."""
    now = timezone.now()
    documents = []
    for i in range(start, start + count):
        spec = {"name": f"Product {i:04d}", "price": Decimal("10.00"), **fields}
        documents.append(repository.product_document(**spec, now=now - timedelta(seconds=i)))
    result = mongo.get_db()[repository.PRODUCTS].insert_many(documents)
    return [str(oid) for oid in result.inserted_ids]


def make_category(name: str, *, parent=None, slug: str | None = None, description: str = ""):
    return services.category_create(
        name=name, slug=slug, description=description, parent_id=parent.id if parent else None
    )


def products_in_mongo() -> list[dict]:
    return list(mongo.get_db()[repository.PRODUCTS].find({}))
