"""The back office as staff use it: Debian's Chromium, headless, driven by Playwright against a
live gunicorn on the real stores. Each step that fails saves a screenshot of the page in
reports/admin-browser/ (the test's name and the step's).

The browser is the system's (/usr/bin/chromium, Debian's `chromium` package); Playwright never
downloads one. What the stores hold after each step is read in this process.
"""

import contextlib
import json
import os
import re
import urllib.request
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from catalog import selectors as catalog_selectors
from catalog import services as catalog_services
from ecommerce.routers import MYSQL
from ecommerce.testing.helpers import TEST_PASSWORD, make_user
from inventory.models import Inventory, StockReservation
from orders import services as order_services
from orders.models import Order
from reviews import services as review_services

pytestmark = pytest.mark.django_db(transaction=True, databases="__all__")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "reports" / "admin-browser"
ADDRESS = {"name": "Olive Owner", "line1": "1 High Street", "city": "London", "postal_code": "N1 9GU", "country": "GB"}
TIMEOUT_MS = 15_000


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API runs an event loop in this thread; the ORM calls between the steps
    # are still plain synchronous calls of the test.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def site(live_server_factory):
    # Plain HTTP on 127.0.0.1: the session cookie cannot be Secure here.
    return live_server_factory(workers=2, extra_env={"SECURE_COOKIES": "0"})


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.test_name = request.node.name
    yield page
    context.close()


@contextlib.contextmanager
def step(page: Page, name: str):
    """One step of a journey; on failure the page is saved as a screenshot, then the test fails."""
    try:
        yield
    except BaseException:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        slug = re.sub(r"[^a-z0-9]+", "-", f"{page.test_name}-{name}".lower()).strip("-")
        with contextlib.suppress(Exception):
            page.screenshot(path=str(SCREENSHOTS / f"{slug}.png"), full_page=True)
        raise


def _login(page: Page, site, email: str, password: str = TEST_PASSWORD) -> None:
    page.goto(f"{site.url}/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")


def _api_get(site, path: str) -> tuple[int, dict]:
    try:
        # bandit B310: always http://127.0.0.1, the test's own server.
        with urllib.request.urlopen(f"{site.url}{path}", timeout=10) as response:  # noqa: S310  # nosec B310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _stock(product_id: str) -> tuple[int, int]:
    return Inventory.objects.using(MYSQL).values_list("quantity", "reserved").get(product_id=product_id)


def _message(page: Page):
    return page.locator("ul.messagelist li").first


def test_staff_run_the_shop_from_the_back_office(site, page, customer):
    boss = make_user("boss@example.com", staff=True, is_superuser=True)
    kitchen = catalog_services.category_create(name="Kitchen")

    with step(page, "log in"):
        _login(page, site, boss.email)
        expect(page.locator("#dashboard")).to_contain_text("Products low on stock")
        expect(page.locator("#site-name")).to_contain_text("Shop back office")

    with step(page, "add a product with stock"):
        page.click("a[href='/admin/catalog/product/add/']")
        page.fill("#id_name", "Copper kettle")
        page.fill("#id_sku", "KET-9")
        page.fill("#id_price", "25.00")
        page.select_option("#id_category", kitchen.id)
        page.fill("#id_initial_stock", "12")
        page.click("input[name=_save]")
        expect(_message(page)).to_contain_text("was added successfully")
    (kettle,) = list(catalog_selectors.product_list(include_inactive=True, search="copper kettle")[0:5])
    assert (kettle.sku, kettle.price, kettle.category_id) == ("KET-9", Decimal("25.00"), kitchen.id)
    assert _stock(kettle.id) == (12, 0)
    review = review_services.review_create(actor=customer, product_id=kettle.id, rating=1, title="Spam spam spam")

    with step(page, "find it in the list"):
        page.fill("#searchbar", "copper")
        page.press("#searchbar", "Enter")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list tbody tr").first).to_contain_text("KET-9")

    with step(page, "change its price"):
        page.click("#result_list tbody tr th a")
        page.fill("#id_price", "19.99")
        page.click("input[name=_save]")
        expect(_message(page)).to_contain_text("was changed successfully")
    assert _api_get(site, f"/api/products/{kettle.id}")[1]["price"] == "19.99"

    with step(page, "deactivate it"):
        page.locator(f"input.action-select[value='{kettle.id}']").check()
        page.select_option("select[name=action]", "deactivate")
        page.click("button[name=index]")
        expect(_message(page)).to_contain_text("1 product(s) deactivated")
    assert _api_get(site, f"/api/products/{kettle.id}")[0] == 404

    with step(page, "moderate a review"):
        page.goto(f"{site.url}/admin/catalog/product/{kettle.id}/change/")
        page.click("text=Reviews (1)")
        expect(page.locator("#result_list")).to_contain_text("Spam spam spam")
        page.locator(f"input.action-select[value='{review.id}']").check()
        page.select_option("select[name=action]", "delete_reviews")
        page.click("button[name=index]")
        expect(_message(page)).to_contain_text("1 review(s) deleted")
    product = catalog_selectors.product_get(product_id=kettle.id, include_inactive=True)
    assert (product.rating_count, product.rating_sum) == (0, 0)

    catalog_services.product_update(product_id=kettle.id, data={"is_active": True})
    with step(page, "restock from the inventory list"):
        page.goto(f"{site.url}/admin/inventory/inventory/?q=copper")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list")).to_contain_text("KET-9")
        page.locator("input.action-select").first.check()
        page.select_option("select[name=action]", "restock_selected")
        page.click("button[name=index]")
        page.fill("#id_quantity", "8")
        page.click("input[value=Restock]")
        expect(_message(page)).to_contain_text("Added 8 units to 1 product(s)")
    assert _stock(kettle.id) == (20, 0)

    placed = order_services.order_place(
        user=customer, items=[{"product_id": kettle.id, "quantity": 3}], shipping_address=ADDRESS
    )
    assert _stock(kettle.id) == (17, 3)
    with step(page, "pay and ship an order"):
        page.goto(f"{site.url}/admin/orders/order/{placed.order.pk}/change/")
        expect(page.locator("div.field-address")).to_contain_text("1 High Street")
        expect(page.locator("input[name=_save]")).to_have_count(0)
        page.click("button[value=paid]")
        expect(_message(page)).to_contain_text("is now paid")
        page.click("button[value=shipped]")
        expect(_message(page)).to_contain_text("is now shipped")
        expect(page.locator("button[value=shipped]")).to_have_count(0)
    assert Order.objects.get(pk=placed.order.pk).status == "shipped"
    assert _stock(kettle.id) == (17, 0)
    reservations = StockReservation.objects.using(MYSQL).filter(order_reference=placed.order.reference)
    assert list(reservations.values_list("status", flat=True)) == ["committed"]


def test_a_product_is_found_by_its_sku(site, page):
    boss = make_user("boss@example.com", staff=True, is_superuser=True)
    catalog_services.product_create(name="Copper kettle", price=Decimal("25.00"), sku="KET-9")
    catalog_services.product_create(name="Desk lamp", price=Decimal("40.00"), sku="LAMP-1")
    _login(page, site, boss.email)

    with step(page, "search the SKU"):
        page.goto(f"{site.url}/admin/catalog/product/?q=KET-9")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)
        expect(page.locator("#result_list tbody tr").first).to_contain_text("Copper kettle")
        page.goto(f"{site.url}/admin/inventory/inventory/?q=KET-9")
        expect(page.locator("#result_list tbody tr")).to_have_count(1)


def test_dangerous_edits_are_refused_with_a_message(site, page, customer):
    boss = make_user("boss@example.com", staff=True, is_superuser=True)
    kitchen = catalog_services.category_create(name="Kitchen")
    pans = catalog_services.category_create(name="Pans", parent_id=kitchen.id)
    lamp = catalog_services.product_create(name="Desk lamp", price=Decimal("40.00"), sku="LAMP-1", initial_stock=5)
    pending = order_services.order_place(
        user=customer, items=[{"product_id": lamp.id, "quantity": 2}], shipping_address=ADDRESS
    )
    _login(page, site, boss.email)

    with step(page, "no stock row or cart line is added by hand"):
        page.goto(f"{site.url}/admin/inventory/inventory/")
        expect(page.locator("#result_list")).to_contain_text("Desk lamp")
        expect(page.locator(".object-tools a.addlink")).to_have_count(0)
        page.goto(f"{site.url}/admin/cart/cartitem/")
        expect(page.locator(".object-tools a.addlink")).to_have_count(0)

    with step(page, "the stock row's key and reservations cannot be edited"):
        page.goto(f"{site.url}/admin/inventory/inventory/{lamp.id}/change/")
        expect(page.locator("#id_product_id")).to_have_count(0)
        expect(page.locator("#id_reserved")).to_have_count(0)
        expect(page.locator("div.field-reserved")).to_contain_text("2")

    with step(page, "a stock row holding reservations cannot be deleted"):
        page.goto(f"{site.url}/admin/inventory/inventory/{lamp.id}/delete/")
        expect(_message(page)).to_contain_text("2 units reserved by open orders")
    assert _stock(lamp.id) == (3, 2)

    with step(page, "an order cannot skip a step"):
        page.goto(f"{site.url}/admin/orders/order/")
        page.locator(f"input.action-select[value='{pending.order.pk}']").check()
        page.select_option("select[name=action]", "mark_shipped")
        page.click("button[name=index]")
        expect(page.locator("ul.messagelist li.error")).to_contain_text("cannot go from pending to shipped")
    assert Order.objects.get(pk=pending.order.pk).status == "pending"

    with step(page, "a category cannot become its own ancestor"):
        page.goto(f"{site.url}/admin/catalog/category/{kitchen.id}/change/")
        page.select_option("#id_parent", pans.id)
        page.click("input[name=_save]")
        expect(page.locator(".errorlist")).to_contain_text("cannot move under one of its descendants")
    assert catalog_selectors.category_get(category_id=kitchen.id).parent_id is None

    with step(page, "a category in use cannot be deleted"):
        page.goto(f"{site.url}/admin/catalog/category/{kitchen.id}/delete/")
        expect(page.locator("#content")).to_contain_text("sub-categor")
        expect(page.locator("input[type=submit]")).to_have_count(0)
    assert catalog_selectors.category_exists(category_id=kitchen.id)


def test_a_customer_gets_no_admin_page(site, page, customer):
    with step(page, "log in as a customer"):
        _login(page, site, customer.email)
        expect(page.locator(".errornote")).to_contain_text("staff account")
        page.goto(f"{site.url}/admin/catalog/product/")
        expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/catalog/product/"))
