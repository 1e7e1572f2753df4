"""The back office through Django's test client, on the real stores: every admin write goes
through the services (what the stores hold afterwards says so), dangerous edits are refused
with a message, and each page answers what the staff member's permissions allow.

The same journeys in a real browser are in test_admin_browser.py.
"""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from cart import services as cart_services
from cart.models import CartItem
from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.stores import mongo
from ecommerce.testing.helpers import client_for, make_user
from inventory import services as inventory_services
from inventory.models import Inventory, StockReservation
from orders import services as order_services
from orders.models import Order
from payments import services as payment_services
from reviews import services as review_services
from users.models import User

pytestmark = pytest.mark.django_db(databases="__all__")

ADDRESS = {"name": "Olive Owner", "line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}


def _stock(product_id: str) -> tuple[int, int]:
    return Inventory.objects.using(MYSQL).values_list("quantity", "reserved").get(product_id=product_id)


def _messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.fixture
def boss(db):
    return make_user("boss@example.com", staff=True, is_superuser=True)


@pytest.fixture
def admin_client(boss) -> Client:
    client = Client()
    client.force_login(boss)
    return client


@pytest.fixture
def shop(customer):
    kitchen = catalog_services.category_create(name="Kitchen")
    kettle = catalog_services.product_create(
        name="Copper kettle", price=Decimal("25.00"), sku="KET-1", category_id=kitchen.id, initial_stock=20
    )
    lamp = catalog_services.product_create(name="Desk lamp", price=Decimal("40.00"), sku="LAMP-7", initial_stock=3)
    return {"kitchen": kitchen, "kettle": kettle, "lamp": lamp, "customer": customer}


# --- products -----------------------------------------------------------------------------------


def test_product_added_in_the_admin_has_its_document_and_stock_row(admin_client, shop):
    response = admin_client.post(
        "/admin/catalog/product/add/",
        {
            "name": "Teapot",
            "sku": "TEA-42",
            "price": "12.50",
            "category": shop["kitchen"].id,
            "tags": "tea, china",
            "is_active": "on",
            "initial_stock": "7",
        },
        follow=True,
    )

    assert response.status_code == 200
    assert any("Teapot" in m and "added successfully" in m for m in _messages(response))
    (teapot,) = [p for p in catalog_selectors.product_list(include_inactive=True, search="teapot")[0:10]]
    assert (teapot.sku, teapot.price, teapot.category_id, teapot.tags) == (
        "TEA-42",
        Decimal("12.50"),
        shop["kitchen"].id,
        ["tea", "china"],
    )
    assert _stock(teapot.id) == (7, 0)


def test_a_taken_sku_is_a_form_error_and_nothing_is_written(admin_client, shop):
    response = admin_client.post(
        "/admin/catalog/product/add/", {"name": "Clone", "sku": "KET-1", "price": "1.00", "initial_stock": "0"}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["sku"] == ["Already taken."]
    assert catalog_selectors.product_list(include_inactive=True).count() == 2
    assert Inventory.objects.using(MYSQL).count() == 2


def test_product_list_shows_stock_and_category_and_searches_and_filters(admin_client, shop):
    everything = admin_client.get("/admin/catalog/product/")
    found = admin_client.get("/admin/catalog/product/", {"q": "copper"})
    in_kitchen = admin_client.get("/admin/catalog/product/", {"category": shop["kitchen"].id})

    assert [row["id"] for row in everything.context["rows"]] == [shop["lamp"].id, shop["kettle"].id]
    kettle_row = everything.context["rows"][1]["cells"]
    assert ("Copper kettle", "KET-1", Decimal("25.00"), "Kitchen") == (
        kettle_row[0],
        kettle_row[1],
        kettle_row[2],
        kettle_row[4],
    )
    assert ">20</a>" in str(kettle_row[6])
    assert [row["id"] for row in found.context["rows"]] == [shop["kettle"].id]
    assert [row["id"] for row in in_kitchen.context["rows"]] == [shop["kettle"].id]


def test_price_changed_in_the_admin_is_what_the_api_answers(admin_client, shop):
    kettle = shop["kettle"]
    page = admin_client.get(f"/admin/catalog/product/{kettle.id}/change/")
    form = page.context["adminform"].form
    data = {name: value for name, value in form.initial.items() if value not in (None, False)}
    data.update(price="19.99", is_active="on")

    response = admin_client.post(f"/admin/catalog/product/{kettle.id}/change/", data)

    assert response.status_code == 302
    assert client_for(None).get(f"/api/products/{kettle.id}").json()["price"] == "19.99"
    assert _stock(kettle.id) == (20, 0)  # the stock row is not the product form's business
    history = admin_client.get(f"/admin/catalog/product/{kettle.id}/history/")
    assert history.status_code == 200 and "Changed Price." in history.content.decode()


def test_deactivate_and_activate_actions(admin_client, shop):
    ids = [shop["kettle"].id, shop["lamp"].id]

    admin_client.post("/admin/catalog/product/", {"action": "deactivate", "_selected_action": ids})

    assert client_for(None).get(f"/api/products/{shop['kettle'].id}").status_code == 404
    assert all(not p.is_active for p in catalog_selectors.products_get_many(product_ids=ids).values())
    admin_client.post("/admin/catalog/product/", {"action": "activate", "_selected_action": ids[:1]})
    assert client_for(None).get(f"/api/products/{shop['kettle'].id}").status_code == 200


def test_product_delete_names_what_goes_with_it_then_removes_it_all(admin_client, shop, customer):
    kettle = shop["kettle"]
    review_services.review_create(actor=customer, product_id=kettle.id, rating=4, title="Good")
    review_services.wishlist_item_add(actor=customer, user_id=customer.pk, product_id=kettle.id)

    confirm = admin_client.get(f"/admin/catalog/product/{kettle.id}/delete/")
    text = confirm.content.decode()
    deleted = admin_client.post(f"/admin/catalog/product/{kettle.id}/delete/", {"post": "yes"}, follow=True)

    assert "Stock row: 20 in stock" in text and "1 review(s)" in text and "wishlists" in text
    assert deleted.status_code == 200
    assert not catalog_selectors.product_exists(product_id=kettle.id)
    assert not Inventory.objects.using(MYSQL).filter(product_id=kettle.id).exists()
    wishlist = client_for(customer).get(f"/api/wishlist/{customer.pk}").json()
    assert wishlist["items"] == []


def test_products_and_stock_rows_are_found_by_sku(admin_client, shop):
    products = admin_client.get("/admin/catalog/product/", {"q": "KET-1"})
    stock = admin_client.get("/admin/inventory/inventory/", {"q": "KET-1"})

    assert [row["id"] for row in products.context["rows"]] == [shop["kettle"].id]
    assert [row.product_id for row in stock.context["cl"].result_list] == [shop["kettle"].id]


# --- categories -----------------------------------------------------------------------------------


def test_category_tree_and_its_rules_as_form_errors(admin_client, shop):
    kitchen = shop["kitchen"]
    pans = catalog_services.category_create(name="Pans", parent_id=kitchen.id)

    tree = admin_client.get("/admin/catalog/category/")
    looped = admin_client.post(
        f"/admin/catalog/category/{kitchen.id}/change/", {"name": "Kitchen", "slug": "kitchen", "parent": pans.id}
    )
    in_use = admin_client.get(f"/admin/catalog/category/{kitchen.id}/delete/")
    refused = admin_client.post(f"/admin/catalog/category/{kitchen.id}/delete/", {"post": "yes"})

    assert [str(row["cells"][0]) for row in tree.context["rows"]] == ["Kitchen", "— Pans"]
    assert looped.status_code == 200
    assert looped.context["adminform"].form.errors["parent"] == ["A category cannot move under one of its descendants."]
    assert catalog_selectors.category_get(category_id=kitchen.id).parent_id is None
    assert in_use.context["protected"] and refused.status_code == 200
    assert catalog_selectors.category_exists(category_id=kitchen.id)


# --- reviews --------------------------------------------------------------------------------------


def test_moderating_a_review_keeps_the_rating_right(admin_client, shop, customer, other_customer):
    kettle = shop["kettle"]
    rude = review_services.review_create(actor=customer, product_id=kettle.id, rating=1, title="Rude words")
    review_services.review_create(actor=other_customer, product_id=kettle.id, rating=5, title="Lovely")

    listed = admin_client.get("/admin/reviews/review/", {"product": kettle.id, "sort": "rating"})
    admin_client.post(
        f"/admin/reviews/review/?product={kettle.id}", {"action": "delete_reviews", "_selected_action": [rude.id]}
    )

    assert [row["cells"][0] for row in listed.context["rows"]] == ["Rude words", "Lovely"]
    assert "customer@example.com" in str(listed.context["rows"][0]["cells"][2])
    assert f"?author={customer.pk}" in str(listed.context["rows"][0]["cells"][2])
    rating = client_for(None).get(f"/api/products/{kettle.id}").json()["rating"]
    assert (rating["count"], rating["average"]) == (1, "5.00")


def test_an_authors_reviews_across_products_and_their_moderation(admin_client, shop, customer, other_customer):
    kettle, lamp = shop["kettle"], shop["lamp"]
    on_kettle = review_services.review_create(actor=customer, product_id=kettle.id, rating=1, title="Rude words")
    review_services.review_create(actor=other_customer, product_id=kettle.id, rating=5, title="Lovely")
    on_lamp = review_services.review_create(actor=customer, product_id=lamp.id, rating=2, title="Flickers")
    catalog_services.product_update(product_id=lamp.id, data={"is_active": False})  # listed all the same

    by_author = admin_client.get("/admin/reviews/review/", {"author": customer.pk})
    nonsense = admin_client.get("/admin/reviews/review/", {"author": "1; DROP"})
    admin_client.post(
        f"/admin/reviews/review/?author={customer.pk}",
        {"action": "delete_reviews", "_selected_action": [on_kettle.id, on_lamp.id]},
    )

    assert by_author.status_code == 200 and by_author.context["title"] == "Reviews by customer@example.com"
    assert [row["cells"][0] for row in by_author.context["rows"]] == ["Flickers", "Rude words"]  # newest first
    assert nonsense.status_code == 200 and list(nonsense.context["rows"]) == []
    remaining = client_for(None).get(f"/api/reviews/product/{kettle.id}").json()["results"]
    assert [review["title"] for review in remaining] == ["Lovely"]
    rating = client_for(None).get(f"/api/products/{kettle.id}").json()["rating"]
    assert (rating["count"], rating["average"]) == (1, "5.00")


# --- inventory ------------------------------------------------------------------------------------


def test_inventory_is_named_by_product_searchable_and_filtered(admin_client, shop):
    by_name = admin_client.get("/admin/inventory/inventory/", {"q": "lamp"})
    low = admin_client.get("/admin/inventory/inventory/", {"stock": "low"})

    assert [row.product_id for row in by_name.context["cl"].result_list] == [shop["lamp"].id]
    assert "Desk lamp" in by_name.content.decode() and "LAMP-7" in by_name.content.decode()
    assert [row.product_id for row in low.context["cl"].result_list] == [shop["lamp"].id]


def test_restock_action_and_set_quantity_go_through_the_services(admin_client, shop):
    lamp = shop["lamp"]
    asked = admin_client.post(
        "/admin/inventory/inventory/", {"action": "restock_selected", "_selected_action": [lamp.id]}
    )
    admin_client.post(
        "/admin/inventory/inventory/",
        {"action": "restock_selected", "_selected_action": [lamp.id], "apply": "1", "quantity": "5"},
    )
    after_restock = _stock(lamp.id)
    admin_client.post(
        f"/admin/inventory/inventory/{lamp.id}/change/",
        {"quantity": "11", "low_stock_threshold": "4", "restock": "", "product_id": "f" * 24},
    )

    assert asked.status_code == 200 and "Units to add to each" in asked.content.decode()
    assert after_restock == (8, 0)
    row = Inventory.objects.using(MYSQL).get(product_id=lamp.id)
    assert (row.quantity, row.low_stock_threshold) == (11, 4)
    assert not Inventory.objects.using(MYSQL).filter(product_id="f" * 24).exists()  # the key is read-only


def test_no_stock_row_is_added_by_hand_and_none_with_reservations_is_deleted(admin_client, shop, customer):
    kettle = shop["kettle"]
    order_services.order_place(
        user=customer, items=[{"product_id": kettle.id, "quantity": 2}], shipping_address=ADDRESS
    )

    add = admin_client.get("/admin/inventory/inventory/add/")
    delete = admin_client.post(f"/admin/inventory/inventory/{kettle.id}/delete/", {"post": "yes"}, follow=True)

    assert add.status_code == 403
    assert any("2 units reserved by open orders" in m for m in _messages(delete))
    assert _stock(kettle.id) == (18, 2)


def test_cart_lines_are_not_added_by_hand(admin_client, shop):
    assert admin_client.get("/admin/cart/cartitem/add/").status_code == 403


# --- orders ---------------------------------------------------------------------------------------


def test_shipping_from_the_order_page_moves_the_stock_once(admin_client, shop, customer):
    kettle = shop["kettle"]
    placed = order_services.order_place(
        user=customer, items=[{"product_id": kettle.id, "quantity": 3}], shipping_address=ADDRESS
    )
    url = f"/admin/orders/order/{placed.order.pk}/"

    page = admin_client.get(f"{url}change/")
    paid = admin_client.post(f"{url}status/paid/", follow=True)
    shipped = admin_client.post(f"{url}status/shipped/", follow=True)
    again = admin_client.post(f"{url}status/shipped/", follow=True)

    body = page.content.decode()
    assert "1 High Street<br>London<br>N1 9GU<br>GB" in body
    assert f'href="/admin/users/user/{customer.pk}/change/"' in body
    assert 'name="_save"' not in body and "Mark paid" in body
    assert "is now paid" in " ".join(_messages(paid)) and "is now shipped" in " ".join(_messages(shipped))
    assert any("cannot go from shipped to shipped" in m for m in _messages(again))
    assert Order.objects.get(pk=placed.order.pk).status == "shipped"
    assert _stock(kettle.id) == (17, 0)
    statuses = StockReservation.objects.using(MYSQL).filter(order_reference=placed.order.reference)
    assert list(statuses.values_list("status", flat=True)) == ["committed"]


def test_bulk_transition_reports_each_refusal_and_moves_the_rest(admin_client, shop, customer):
    kettle = shop["kettle"]
    first = order_services.order_place(
        user=customer, items=[{"product_id": kettle.id, "quantity": 1}], shipping_address=ADDRESS
    )
    second = order_services.order_place(
        user=customer, items=[{"product_id": kettle.id, "quantity": 1}], shipping_address=ADDRESS
    )
    admin_client.post("/admin/orders/order/", {"action": "mark_paid", "_selected_action": [first.order.pk]})

    response = admin_client.post(
        "/admin/orders/order/",
        {"action": "mark_shipped", "_selected_action": [first.order.pk, second.order.pk]},
        follow=True,
    )

    assert response.status_code == 200
    text = " ".join(_messages(response))
    assert f"Order {second.order.pk}: An order cannot go from pending to shipped." in text
    assert f"1 order(s) now shipped: {first.order.pk}." in text
    assert dict(Order.objects.values_list("pk", "status")) == {first.order.pk: "shipped", second.order.pk: "pending"}


# --- the site -----------------------------------------------------------------------------------


def test_dashboard_figures_link_to_their_lists(admin_client, shop, customer):
    placed = order_services.order_place(
        user=customer, items=[{"product_id": shop["kettle"].id, "quantity": 1}], shipping_address=ADDRESS
    )
    order_services.order_status_change(order=placed.order, status="paid")

    response = admin_client.get("/admin/")

    tiles = {tile["label"]: tile for tile in response.context["dashboard"]}
    assert tiles["Orders today"]["value"] == 1
    assert tiles["Paid, waiting to be shipped"]["value"] == 1
    assert tiles["Paid, waiting to be shipped"]["url"] == "/admin/orders/order/?status__exact=paid"
    assert tiles["Net revenue today"]["value"] == "25.00"
    assert tiles["Products low on stock"]["value"] == 1  # the lamp: 3 left, threshold 10
    assert admin_client.get(tiles["Products low on stock"]["url"]).context["cl"].result_count == 1


def test_view_site_and_root_lead_to_the_api_docs(admin_client):
    assert admin_client.get("/admin/").context["site_url"] == "/api/docs"
    assert Client().get("/")["Location"] == "/api/docs"


def test_a_customer_gets_no_admin_page(shop, customer):
    client = Client()
    client.force_login(customer)

    for url in ["/admin/", "/admin/catalog/product/", f"/admin/inventory/inventory/{shop['lamp'].id}/change/"]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_staff_see_and_do_what_their_permissions_allow(shop):
    clerk = make_user("clerk@example.com", staff=True)
    clerk.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="catalog", codename__in=["view_product", "view_category"])
    )
    client = Client()
    client.force_login(clerk)

    index = client.get("/admin/")
    products = client.get("/admin/catalog/product/")
    add = client.get("/admin/catalog/product/add/")
    deactivate = client.post(
        "/admin/catalog/product/", {"action": "deactivate", "_selected_action": [shop["kettle"].id]}
    )
    orders = client.get("/admin/orders/order/")

    apps = {app["app_label"]: [m["object_name"] for m in app["models"]] for app in index.context["app_list"]}
    assert apps == {"catalog": ["Category", "Product"]}
    assert index.context["dashboard"] == []
    assert products.status_code == 200 and products.context["actions"] == []
    assert add.status_code == 403 and deactivate.status_code == 403 and orders.status_code == 403
    assert catalog_selectors.product_get(product_id=shop["kettle"].id).is_active


@pytest.mark.django_db(transaction=True, databases="__all__")
def test_admin_login_is_limited_across_the_workers_of_a_server_without_redis(live_server_factory, tmp_path, staff):
    """THROTTLE_LOGIN_IP_RATE (20/min) holds for the whole server, not per worker: without a
    shared count, three workers would let about 60 guesses a minute through."""
    server = live_server_factory(
        workers=3,
        extra_env={"THROTTLE_ENABLED": "1", "REDIS_URL": "", "DATA_DIR": str(tmp_path), "SECURE_COOKIES": "0"},
    )
    answers = []
    for attempt in range(22):
        # A fresh connection and session each time, as a guessing script would: any worker may answer.
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(f"{server.url}/admin/login/", timeout=10) as page:  # noqa: S310
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.read().decode()).group(1)
        body = urllib.parse.urlencode(
            {"csrfmiddlewaretoken": token, "username": staff.email, "password": f"wrong-{attempt}", "next": "/admin/"}
        ).encode()
        request = urllib.request.Request(  # noqa: S310
            f"{server.url}/admin/login/", data=body, headers={"Referer": server.url}
        )
        try:
            with opener.open(request, timeout=10) as response:  # noqa: S310
                answers.append(response.status)
        except urllib.error.HTTPError as error:
            answers.append(error.code)
            retry_after = error.headers.get("Retry-After")

    assert answers[:20] == [200] * 20  # the form again, with its error
    assert answers[20:] == [429, 429]
    assert int(retry_after) >= 1


def test_a_parent_lists_its_variants_and_a_variant_links_its_parent(admin_client):
    tee = catalog_services.product_create(name="Tee", option_names=["Size", "Colour"])
    small = catalog_services.variant_create(
        parent_id=tee.id,
        sku="TEE-S-RED",
        options={"Size": "S", "Colour": "Red"},
        price=Decimal("9.00"),
        initial_stock=4,
    )
    medium = catalog_services.variant_create(
        parent_id=tee.id, sku="TEE-M-RED", options={"Size": "M", "Colour": "Red"}, price=Decimal("11.00")
    )

    lamp = catalog_services.product_create(name="Desk lamp", price=Decimal("40.00"))
    listed = admin_client.get("/admin/catalog/product/", {"kind": "parent"})
    standalone = admin_client.get("/admin/catalog/product/", {"kind": "standalone"})
    parent_page = admin_client.get(f"/admin/catalog/product/{tee.id}/change/")
    variant_page = admin_client.get(f"/admin/catalog/product/{small.id}/change/")
    renamed = admin_client.post(f"/admin/catalog/product/{tee.id}/change/", {"name": "Tee shirt", "is_active": "on"})

    assert [(row["cells"][0], row["cells"][3]) for row in listed.context["rows"]] == [("Tee", "parent of 2")]
    assert [row["id"] for row in standalone.context["rows"]] == [lamp.id]
    (variants,) = parent_page.context["panels"]
    assert [str(row[0]) for row in variants["rows"]] == [
        f'<a href="/admin/catalog/product/{small.id}/change/">TEE-S-RED</a>',
        f'<a href="/admin/catalog/product/{medium.id}/change/">TEE-M-RED</a>',
    ]
    assert [row[1] for row in variants["rows"]] == ["Size: S, Colour: Red", "Size: M, Colour: Red"]
    assert "price" not in parent_page.context["adminform"].form.fields
    assert variant_page.context["object_links"][0] == {
        "label": "Parent product",
        "url": f"/admin/catalog/product/{tee.id}/change/",
    }
    assert renamed.status_code == 302
    assert catalog_selectors.product_get(product_id=tee.id).name == "Tee shirt"


def test_an_order_page_shows_its_payments_and_its_timeline(admin_client, shop, customer, settings):
    settings.PAYMENTS_TEST_PROVIDER = True
    settings.PAYMENTS_WEBHOOK_SECRET = "test-webhook-secret-for-the-admin-page"
    placed = order_services.order_place(
        user=customer, items=[{"product_id": shop["kettle"].id, "quantity": 2}], shipping_address=ADDRESS
    )
    payment = payment_services.payment_create(actor=customer, order_id=placed.order.pk, provider="test").obj
    payment_services.payment_simulate(payment_id=payment.pk, event="captured")

    page = admin_client.get(f"/admin/orders/order/{placed.order.pk}/change/")

    panels = {panel["title"]: panel for panel in page.context["panels"]}
    (row,) = panels["Payments"]["rows"]
    assert [row[0], row[3], row[4], row[5]] == [payment.pk, "captured", Decimal("50.00"), Decimal("50.00")]
    assert panels["Refunds"]["rows"] == []
    timeline = [event[1] for event in panels["Timeline"]["rows"]]
    assert timeline[0] == "order.created" and "order.paid" in timeline
    assert Order.objects.get(pk=placed.order.pk).status == "paid"
    assert "Ship" in page.content.decode() and "Mark paid" not in page.content.decode()


def test_a_stock_row_is_restocked_from_its_page_and_an_orphan_row_deleted(admin_client, shop):
    lamp = shop["lamp"]
    orphan = "a" * 24  # a row whose product is gone (a deletion cut short)
    inventory_services.inventory_create(product_id=orphan, quantity=0)

    admin_client.post(
        f"/admin/inventory/inventory/{lamp.id}/change/", {"quantity": "3", "low_stock_threshold": "10", "restock": "4"}
    )
    confirm = admin_client.get(f"/admin/inventory/inventory/{orphan}/delete/")
    admin_client.post(f"/admin/inventory/inventory/{orphan}/delete/", {"post": "yes"})
    refused = admin_client.post(f"/admin/inventory/inventory/{lamp.id}/delete/", {"post": "yes"}, follow=True)

    assert _stock(lamp.id) == (7, 0)
    assert confirm.status_code == 200
    assert not Inventory.objects.using(MYSQL).filter(product_id=orphan).exists()
    assert any("delete the product instead" in m for m in _messages(refused))
    assert Inventory.objects.using(MYSQL).filter(product_id=lamp.id).exists()


def test_a_cart_line_removed_by_staff_goes_through_the_cart(admin_client, shop, customer):
    cart_services.cart_item_add(user_id=customer.pk, product_id=shop["lamp"].id, quantity=2)
    (item,) = CartItem.objects.filter(user=customer)

    listed = admin_client.get("/admin/cart/cartitem/")
    admin_client.post(f"/admin/cart/cartitem/{item.pk}/delete/", {"post": "yes"})

    assert "Desk lamp" in listed.content.decode()
    assert not CartItem.objects.filter(user=customer).exists()


def test_accounts_change_through_the_users_services(admin_client, boss, customer):
    clerk = make_user("clerk@example.com", staff=True)
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_user", "change_user", "delete_user"]))
    as_clerk = Client()
    as_clerk.force_login(clerk)
    review_services.wishlist_item_add(
        actor=customer,
        user_id=customer.pk,
        product_id=catalog_services.product_create(name="Mug", price=Decimal("3.00")).id,
    )
    form = {
        "email": customer.email,
        "first_name": "Cathy",
        "last_name": "Customer",
        "phone": "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }

    on_boss = as_clerk.get(f"/admin/users/user/{boss.pk}/delete/")
    deactivated = admin_client.post(f"/admin/users/user/{customer.pk}/change/", form)
    version = User.objects.get(pk=customer.pk).token_version
    admin_client.post(f"/admin/users/user/{customer.pk}/delete/", {"post": "yes"})

    assert on_boss.status_code == 403 and User.objects.filter(pk=boss.pk).exists()
    assert deactivated.status_code == 302 and version == customer.token_version + 1
    assert not User.objects.filter(pk=customer.pk).exists()
    assert mongo.get_db()["wishlist_entries"].count_documents({"user_id": customer.pk}) == 0


def test_a_password_set_by_staff_goes_through_the_users_services(admin_client, customer):
    before = User.objects.get(pk=customer.pk).token_version
    new = "An0ther-Str0ng-Passw0rd!"

    weak = admin_client.post(f"/admin/users/user/{customer.pk}/password/", {"password1": "123", "password2": "123"})
    done = admin_client.post(f"/admin/users/user/{customer.pk}/password/", {"password1": new, "password2": new})

    assert weak.status_code == 200 and weak.context["form"].errors
    assert done.status_code == 302
    after = User.objects.get(pk=customer.pk)
    assert after.check_password(new) and after.token_version == before + 1


def test_product_pages_are_paginated_and_keep_their_filters(admin_client):
    for n in range(27):
        catalog_services.product_create(name=f"Spoon {n:02}", price=Decimal("1.00"), is_active=n % 3 != 0)

    first = admin_client.get("/admin/catalog/product/", {"active": "yes"})
    second = admin_client.get("/admin/catalog/product/", {"active": "yes", "p": "2"})
    beyond = admin_client.get("/admin/catalog/product/", {"active": "yes", "p": "99"})

    assert (first.context["count"], len(first.context["rows"]), len(second.context["rows"])) == (18, 18, 18)
    everything = admin_client.get("/admin/catalog/product/")
    last = admin_client.get("/admin/catalog/product/", {"p": "2"})
    assert (everything.context["count"], len(everything.context["rows"]), len(last.context["rows"])) == (27, 25, 2)
    assert [p["query"] for p in everything.context["pages"]] == ["?p=1", "?p=2"]
    assert beyond.context["page"].number == 1 and second.context["page"].number == 1


def test_searching_stock_for_a_parent_lists_its_variants_rows(admin_client):
    tee = catalog_services.product_create(name="Tee", option_names=["Size"])
    small = catalog_services.variant_create(parent_id=tee.id, sku="TEE-S", options={"Size": "S"}, price=Decimal("9.00"))

    response = admin_client.get("/admin/inventory/inventory/", {"q": "tee"})

    assert [row.product_id for row in response.context["cl"].result_list] == [small.id]
    assert small.name in response.content.decode()
