"""A shopping journey written as a client developer would, with nothing but the Python client
that openapi-python-client generates from the live schema (package `shop_client`).

    python ecommerce/contract/client_journey.py URL STAFF_EMAIL STAFF_PASSWORD

ecommerce/contract/test_generated_client.py generates the client, runs this against a live
server and checks it with `mypy --strict`: the schema must type every step, with no cast and
no comment silencing the checker. Prints one JSON line with the ids it made, for the test to check the stores.
"""

import json
import re
import sys
import uuid
from http import HTTPStatus
from typing import TypeVar

from shop_client import AuthenticatedClient, Client
from shop_client.api.auth import api_auth_token_create, api_auth_token_refresh_create
from shop_client.api.cart import api_cart_items_create, api_cart_retrieve
from shop_client.api.orders import (
    api_orders_cancel_create,
    api_orders_create,
    api_orders_retrieve,
    api_orders_status_partial_update,
)
from shop_client.api.products import (
    api_products_create,
    api_products_list,
    api_products_retrieve,
    api_products_search_list,
)
from shop_client.api.reviews import api_reviews_create, api_reviews_product_list
from shop_client.api.users import api_users_create, api_users_me_retrieve
from shop_client.api.wishlist import api_wishlist_items_create
from shop_client.models import (
    ActiveTokenRefreshRequest,
    ApiProductsListSort,
    Cart,
    CartItemAddRequest,
    ErrorResponse,
    Order,
    OrderItemInRequest,
    OrderPlaceRequest,
    OrderStatusEnum,
    OrderStatusRequest,
    OutOfStockError,
    PaginatedProductList,
    PaginatedReviewList,
    Product,
    ProductCreateRequest,
    Review,
    ReviewCreateRequest,
    ShippingAddressRequest,
    TokenPair,
    TokenRefresh,
    TokenRequest,
    User,
    UserCreateRequest,
    ValidationError,
    Wishlist,
    WishlistItemAddRequest,
)
from shop_client.types import Response

MONEY = re.compile(r"^\d{1,18}\.\d{2}$")
PASSWORD = "Lamp-Light-2026!"
ADDRESS = ShippingAddressRequest(
    name="Nora Night", line1="12 Harbour Road", city="Bristol", postal_code="BS1 4RB", country="GB"
)

Parsed = TypeVar("Parsed")
Expected = TypeVar("Expected")


def is_money(value: str | None) -> bool:
    """What the schema promises for an amount the API answers (a parent product's price may be null)."""
    return value is not None and MONEY.fullmatch(value) is not None


def expect(response: Response[Parsed], status: HTTPStatus, kind: type[Expected]) -> Expected:
    """The answer's status and its typed body, or a failure that shows what came instead."""
    body = response.content.decode(errors="replace")[:500]
    assert response.status_code == status, f"expected {status}, got {response.status_code}: {body}"
    assert isinstance(response.parsed, kind), f"expected a {kind.__name__}, got {response.parsed!r}"
    return response.parsed


def sign_in(base_url: str, anonymous: Client, email: str, password: str) -> AuthenticatedClient:
    pair = expect(
        api_auth_token_create.sync_detailed(client=anonymous, body=TokenRequest(email=email, password=password)),
        HTTPStatus.OK,
        TokenPair,
    )
    refreshed = expect(
        api_auth_token_refresh_create.sync_detailed(
            client=anonymous, body=ActiveTokenRefreshRequest(refresh=pair.refresh)
        ),
        HTTPStatus.OK,
        TokenRefresh,
    )
    return AuthenticatedClient(base_url=base_url, token=refreshed.access, raise_on_unexpected_status=True)


def journey(base_url: str, staff_email: str, staff_password: str) -> dict[str, object]:
    anonymous = Client(base_url=base_url, raise_on_unexpected_status=True)
    staff = sign_in(base_url, anonymous, staff_email, staff_password)

    # Staff stock the shop: a lamp with three units.
    lamp = expect(
        api_products_create.sync_detailed(
            client=staff,
            body=ProductCreateRequest(
                name="Rustic Wool Lamp",
                price="24.50",
                description="A warm reading lamp with a felted wool shade.",
                tags=["lighting", "wool"],
                initial_stock=3,
            ),
        ),
        HTTPStatus.CREATED,
        Product,
    )
    assert lamp.price == "24.50" and is_money(lamp.price)

    # A new customer registers and signs in.
    email = f"nora-{uuid.uuid4().hex[:12]}@example.com"
    registered = expect(
        api_users_create.sync_detailed(
            client=anonymous,
            body=UserCreateRequest(email=email, password=PASSWORD, first_name="Nora", last_name="Night"),
        ),
        HTTPStatus.CREATED,
        User,
    )
    customer = sign_in(base_url, anonymous, email, PASSWORD)
    me = expect(api_users_me_retrieve.sync_detailed(client=customer), HTTPStatus.OK, User)
    assert me.id == registered.id and not me.is_staff

    # Browsing and searching need no token: the plain Client is accepted by the public reads.
    page = expect(
        api_products_list.sync_detailed(client=anonymous, sort=ApiProductsListSort.PRICE_DESC, limit=100),
        HTTPStatus.OK,
        PaginatedProductList,
    )
    assert lamp.id in [product.id for product in page.results]
    assert all(product.price is None or is_money(product.price) for product in page.results)
    shown = expect(api_products_retrieve.sync_detailed(lamp.id, client=anonymous), HTTPStatus.OK, Product)
    assert shown.name == "Rustic Wool Lamp" and shown.rating.count == 0
    found = expect(
        api_products_search_list.sync_detailed(client=anonymous, q="wool"), HTTPStatus.OK, PaginatedProductList
    )
    assert [product.id for product in found.results] == [lamp.id]
    refused = expect(
        api_products_search_list.sync_detailed(client=anonymous, q=""), HTTPStatus.BAD_REQUEST, ValidationError
    )
    assert "q" in refused.error.details.additional_properties

    # Two lamps in the cart, then ordered from it with an Idempotency-Key, and the order replayed.
    cart = expect(
        api_cart_items_create.sync_detailed(
            me.id, client=customer, body=CartItemAddRequest(product_id=lamp.id, quantity=2)
        ),
        HTTPStatus.CREATED,
        Cart,
    )
    assert cart.total == "49.00" and cart.item_count == 2
    key = str(uuid.uuid4())
    place = OrderPlaceRequest(shipping_address=ADDRESS, from_cart=True)
    first = api_orders_create.sync_detailed(client=customer, body=place, idempotency_key=key)
    placed = expect(first, HTTPStatus.CREATED, Order)
    assert "Idempotent-Replayed" not in first.headers
    assert placed.status == OrderStatusEnum.PENDING and placed.total == "49.00"
    assert placed.items[0].unit_price == "24.50" and placed.items[0].line_total == "49.00"
    assert expect(api_cart_retrieve.sync_detailed(me.id, client=customer), HTTPStatus.OK, Cart).items == []
    again = api_orders_create.sync_detailed(client=customer, body=place, idempotency_key=key)
    replayed = expect(again, HTTPStatus.CREATED, Order)
    assert again.headers.get("Idempotent-Replayed") == "true" and replayed.id == placed.id

    # Five more lamps than the shop has: refused with typed items, nothing reserved.
    five = OrderPlaceRequest(shipping_address=ADDRESS, items=[OrderItemInRequest(product_id=lamp.id, quantity=5)])
    short = expect(api_orders_create.sync_detailed(client=customer, body=five), HTTPStatus.CONFLICT, OutOfStockError)
    assert short.error.code.value == "out_of_stock"
    [line] = short.error.details.items
    assert (line.product_id, line.requested, line.available) == (lamp.id, 5, 1)

    # The first order is cancelled (its two units come back); a new one is paid by staff.
    cancelled = expect(api_orders_cancel_create.sync_detailed(placed.id, client=customer), HTTPStatus.OK, Order)
    assert cancelled.status == OrderStatusEnum.CANCELLED
    twice = expect(
        api_orders_cancel_create.sync_detailed(placed.id, client=customer), HTTPStatus.CONFLICT, ErrorResponse
    )
    assert twice.error.code == "invalid_transition"
    one = OrderPlaceRequest(shipping_address=ADDRESS, items=[OrderItemInRequest(product_id=lamp.id, quantity=1)])
    second = expect(api_orders_create.sync_detailed(client=customer, body=one), HTTPStatus.CREATED, Order)
    paid = expect(
        api_orders_status_partial_update.sync_detailed(
            second.id, client=staff, body=OrderStatusRequest(status=OrderStatusEnum.PAID)
        ),
        HTTPStatus.OK,
        Order,
    )
    assert paid.status == OrderStatusEnum.PAID
    forbidden = expect(
        api_orders_status_partial_update.sync_detailed(
            second.id, client=customer, body=OrderStatusRequest(status=OrderStatusEnum.SHIPPED)
        ),
        HTTPStatus.FORBIDDEN,
        ErrorResponse,
    )
    assert forbidden.error.code == "permission_denied"
    seen = expect(api_orders_retrieve.sync_detailed(second.id, client=customer), HTTPStatus.OK, Order)
    assert seen.status == OrderStatusEnum.PAID

    # A review, read back anonymously, and the lamp on the wishlist (once).
    review = expect(
        api_reviews_create.sync_detailed(
            client=customer,
            body=ReviewCreateRequest(product_id=lamp.id, rating=5, title="Warm light", body="Lovely for reading."),
        ),
        HTTPStatus.CREATED,
        Review,
    )
    reviews = expect(
        api_reviews_product_list.sync_detailed(lamp.id, client=anonymous), HTTPStatus.OK, PaginatedReviewList
    )
    assert [r.id for r in reviews.results] == [review.id]
    rated = expect(api_products_retrieve.sync_detailed(lamp.id, client=anonymous), HTTPStatus.OK, Product)
    assert rated.rating.average == "5.00" and rated.rating.count == 1
    wishlist = expect(
        api_wishlist_items_create.sync_detailed(
            me.id, client=customer, body=WishlistItemAddRequest(product_id=lamp.id)
        ),
        HTTPStatus.CREATED,
        Wishlist,
    )
    assert [item.product_id for item in wishlist.items] == [lamp.id] and wishlist.items[0].price == "24.50"
    expect(
        api_wishlist_items_create.sync_detailed(
            me.id, client=customer, body=WishlistItemAddRequest(product_id=lamp.id)
        ),
        HTTPStatus.OK,
        Wishlist,
    )

    return {
        "product_id": lamp.id,
        "user_id": me.id,
        "cancelled_order_id": placed.id,
        "paid_order_id": paid.id,
        "review_id": review.id,
    }


if __name__ == "__main__":
    url, staff_email, staff_password = sys.argv[1:4]
    print(json.dumps(journey(url, staff_email, staff_password)))
