"""The catalog in the back office: products and categories (MongoDB) and the stock rows
(MySQL) named by their products.

Products and categories are documents, so their pages are `DocumentAdmin`s over handle
models without a table (ecommerce/backoffice/kit.py): permissions `catalog.view_product`,
`add_product`, `change_product`, `delete_product` (and the same for `category`). Every write
goes through catalog.services or inventory.services, as the API's do.

The stock rows' page lives here rather than in inventory/admin.py because it shows each row's
product name and SKU, which only the catalog knows, and the catalog may read the inventory
while the inventory may not read the catalog.
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import ChangeList
from django.core.exceptions import PermissionDenied
from django.db.models import F
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.html import format_html

from catalog import selectors, services
from catalog.admin_forms import CategoryForm, ProductForm, RestockForm
from ecommerce.api.exceptions import ApplicationError
from ecommerce.backoffice.kit import (
    Column,
    DocumentAction,
    DocumentAdmin,
    DocumentFilter,
    DocumentHandle,
    document_handle,
    service_errors,
)
from inventory import selectors as inventory_selectors
from inventory import services as inventory_services
from inventory.models import Inventory

# Apps above the catalog tell what goes with a deleted product (reviews, wishlist entries):
# `hook(request, product_id)` answers lines for the confirmation page and counts by kind.
_delete_summaries: list[Callable] = []
# Other apps add links to a product's page (its reviews): `hook(request, product_id)` -> [{label, url}].
_product_links: list[Callable] = []
SEARCH_LIMIT = 500  # products a search of the stock list can name
STANDALONE, PARENT, VARIANT = selectors.STANDALONE, selectors.PARENT, selectors.VARIANT  # as the selectors answer them


def on_product_delete_summary(hook):
    """Register `hook(request, product_id) -> (lines, counts)` for the product delete confirmation."""
    if hook not in _delete_summaries:
        _delete_summaries.append(hook)
    return hook


def on_product_links(hook):
    """Register `hook(request, product_id) -> [{"label", "url"}]` for a product's page."""
    if hook not in _product_links:
        _product_links.append(hook)
    return hook


@document_handle
class Product(DocumentHandle):
    class Meta:
        managed = False
        app_label = "catalog"
        verbose_name = "product"


@document_handle
class Category(DocumentHandle):
    class Meta:
        managed = False
        app_label = "catalog"
        verbose_name = "category"
        verbose_name_plural = "categories"


def product_with_sku(term: str):
    """The product whose SKU is exactly `term` (variants included), or None.

    Needs `catalog.selectors.product_get_by_sku(sku=...)`, a look-up on the unique SKU index,
    requested of the catalog's owner; until the catalog offers it, an SKU is found only where
    the catalog's search finds it (a parent by its variants' SKUs)."""
    find = getattr(selectors, "product_get_by_sku", None)
    return find(sku=term.strip()) if find is not None and term.strip() else None


def _yes_no(value: bool):
    icon = "yes" if value else "no"
    return format_html('<img src="{}" alt="{}">', static(f"admin/img/icon-{icon}.svg"), "Yes" if value else "No")


def _all_categories() -> list:
    every = selectors.category_list()
    return list(every[0 : every.count()])


def category_tree() -> list[tuple[object, int]]:
    """Every category with its depth, parents before their children, siblings by name."""
    categories = _all_categories()
    children: dict[str, list] = {}
    for category in categories:
        children.setdefault(category.parent_id or "", []).append(category)
    known = {category.id for category in categories}
    tree: list[tuple[object, int]] = []

    def walk(parent_id: str, depth: int) -> None:
        for category in children.get(parent_id, []):
            tree.append((category, depth))
            if depth < selectors.MAX_CATEGORY_DEPTH:
                walk(category.id, depth + 1)

    walk("", 0)
    # A category whose parent is gone still shows, at the top level.
    orphans = [c for c in categories if c.parent_id and c.parent_id not in known]
    for category in orphans:
        tree.append((category, 0))
        walk(category.id, 1)
    return tree


def _category_choices() -> list[tuple[str, str]]:
    return [(category.id, "— " * depth + category.name) for category, depth in category_tree()]


@admin.register(Product)
class ProductAdmin(DocumentAdmin):
    search_help_text = "Name, description, tag or SKU."
    form_class = ProductForm
    add_fields = ["initial_stock"]
    change_form_template = "admin/documents/change_form.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = [
            Column("Name", lambda p, page: p.name),
            Column("SKU", lambda p, page: p.sku or "—"),
            Column("Price", lambda p, page: "—" if p.price is None else p.price),
            Column("Kind", lambda p, page: f"parent of {len(p.variants)}" if p.kind == PARENT else p.kind),
            Column("Category", lambda p, page: page["categories"].get(p.category_id, "—") if p.category_id else "—"),
            Column("Active", lambda p, page: _yes_no(p.is_active)),
            Column("Stock", self._stock_cell),
            Column("Rating", lambda p, page: f"{p.rating_average} ({p.rating_count})" if p.rating_count else "—"),
        ]
        self.filters = [
            DocumentFilter("category", "category", lambda: _category_choices()),
            DocumentFilter("active", "active", lambda: [("yes", "Yes"), ("no", "No")]),
            DocumentFilter("kind", "kind", lambda: [(STANDALONE, "Standalone"), (PARENT, "Parent of variants")]),
        ]
        self.document_actions = [
            DocumentAction("activate", "Activate selected products", self._activate),
            DocumentAction("deactivate", "Deactivate selected products", self._deactivate),
        ]

    # --- reading ---------------------------------------------------------------------------

    def document_get(self, object_id):
        try:
            return selectors.product_detail(product_id=object_id, include_inactive=True)
        except ApplicationError:
            return None

    def document_label(self, document) -> str:
        return document.name

    def document_slice(self, request, *, search, filters):
        exact = product_with_sku(search) if search else None
        if exact is not None:
            return [exact]  # an SKU names one product
        active = {"yes": True, "no": False}.get(filters.get("active", ""))
        return selectors.product_list(
            include_inactive=True,
            is_active=active,
            category_id=filters.get("category") or None,
            search=search or None,
            kind=filters.get("kind") or None,  # the listing ignores a kind it does not list
        )

    def rows_prepare(self, documents):
        # One query per store for the whole page: categories (a few hundred at most) and stock rows.
        ids = [product.id for product in documents]
        return {
            "categories": {category.id: category.name for category in _all_categories()},
            "stock": {row.product_id: row for row in inventory_selectors.inventory_list().filter(product_id__in=ids)},
        }

    def _stock_cell(self, product, page):
        row = page["stock"].get(product.id)
        if row is None:
            return "—"
        url = reverse("admin:inventory_inventory_change", args=[product.id])
        reserved = f" (+{row.reserved} reserved)" if row.reserved else ""
        return format_html('<a href="{}">{}</a>{}', url, row.quantity, reserved)

    def document_form(self, request, data, initial, document=None):
        form = ProductForm(data, initial=initial, categories=_category_choices())
        if document is not None and document.kind == PARENT:
            # A parent's price is its cheapest active variant's; it has no SKU of its own.
            for name in ("price", "sku"):
                del form.fields[name]
        if document is not None and document.kind == VARIANT:
            for name in ("category", "tags"):  # a variant's are its parent's
                del form.fields[name]
        return form

    def form_initial(self, product) -> dict:
        return {
            "name": product.name,
            "sku": product.sku or "",
            "price": product.price,
            "category": product.category_id or "",
            "description": product.description,
            "tags": ", ".join(product.tags),
            "is_active": product.is_active,
        }

    def change_extra(self, request, product) -> dict:
        links = [link for hook in _product_links for link in hook(request, product.id)]
        if request.user.has_perm("inventory.view_inventory"):
            links.append({"label": "Stock", "url": reverse("admin:inventory_inventory_change", args=[product.id])})
        panels = []
        if product.kind == VARIANT and product.parent_id:
            url = reverse("admin:catalog_product_change", args=[product.parent_id])
            links.insert(0, {"label": "Parent product", "url": url})
        if product.kind == PARENT:
            panels.append(
                {
                    "title": f"Variants ({', '.join(product.option_names)})",
                    "columns": ["SKU", "Options", "Price", "Active", "In stock"],
                    "rows": [
                        [
                            format_html(
                                '<a href="{}">{}</a>',
                                reverse("admin:catalog_product_change", args=[v.id]),
                                v.sku or v.id,
                            ),
                            ", ".join(f"{name}: {value}" for name, value in v.options.items()),
                            v.price,
                            _yes_no(v.is_active),
                            _yes_no(bool(v.in_stock)),
                        ]
                        for v in product.variants
                    ],
                    "empty": "No variants yet.",
                }
            )
        return {"object_links": links, "panels": panels}

    # --- writing, through catalog.services -------------------------------------------------

    def document_save(self, request, form, product):
        data = form.cleaned_data
        if product is None:
            return services.product_create(
                name=data["name"],
                price=data["price"],
                description=data["description"],
                sku=data["sku"] or None,
                category_id=data["category"] or None,
                tags=data["tags"],
                is_active=data["is_active"],
                initial_stock=data["initial_stock"],
            )
        fields = {"category": "category_id"}
        changes = {fields.get(name, name): data[name] for name in form.changed_data if name in form.fields}
        if "category_id" in changes:
            changes["category_id"] = changes["category_id"] or None
        if "sku" in changes:
            changes["sku"] = changes["sku"] or None
        if not changes:
            return product
        return services.product_update(product_id=product.id, data=changes)

    def delete_summary(self, request, product):
        lines: list = []
        counts: dict[str, int] = {}
        try:
            row = inventory_selectors.inventory_get(product_id=product.id)
        except ApplicationError:
            row = None
        if row is not None:
            held = f", {row.reserved} reserved by open orders" if row.reserved else ""
            lines.append(f"Stock row: {row.quantity} in stock{held}")
            counts["stock rows"] = 1
        for hook in _delete_summaries:
            more, more_counts = hook(request, product.id)
            lines.extend(more)
            counts.update(more_counts)
        return lines, counts, []

    def document_delete(self, request, product):
        services.product_delete(product_id=product.id)

    def _set_active(self, request, ids, active: bool):
        changed, failed = 0, []
        for product_id in ids:
            try:
                services.product_update(product_id=product_id, data={"is_active": active})
                changed += 1
            except ApplicationError as error:
                failed.append(f"{product_id}: {error.message}")
        word = "activated" if active else "deactivated"
        if changed:
            self.message_user(request, f"{changed} product(s) {word}.", messages.SUCCESS)
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)

    def _activate(self, request, ids):
        self._set_active(request, ids, True)

    def _deactivate(self, request, ids):
        self._set_active(request, ids, False)


@admin.register(Category)
class CategoryAdmin(DocumentAdmin):
    search_help_text = "Name or slug."
    form_class = CategoryForm
    list_per_page = 500  # a tree reads best whole

    columns = [
        Column("Name", lambda entry, page: format_html("{}{}", "— " * entry[1], entry[0].name)),
        Column("Slug", lambda entry, page: entry[0].slug),
        Column("Description", lambda entry, page: entry[0].description[:80]),
    ]

    def document_id(self, document):
        return document[0].id if isinstance(document, tuple) else document.id

    def document_label(self, document) -> str:
        return document.name

    def document_get(self, object_id):
        try:
            return selectors.category_get(category_id=object_id)
        except ApplicationError:
            return None

    def document_slice(self, request, *, search, filters):
        tree = category_tree()
        if search:
            needle = search.lower()
            tree = [(c, 0) for c, _ in tree if needle in c.name.lower() or needle in c.slug]
        return tree

    def document_form(self, request, data, initial, document=None):
        return CategoryForm(data, initial=initial, categories=_category_choices())

    def form_initial(self, category) -> dict:
        return {
            "name": category.name,
            "slug": category.slug,
            "parent": category.parent_id or "",
            "description": category.description,
        }

    def document_save(self, request, form, category):
        data = form.cleaned_data
        try:
            if category is None:
                return services.category_create(
                    name=data["name"],
                    slug=data["slug"] or None,
                    description=data["description"],
                    parent_id=data["parent"] or None,
                )
            fields = {"parent": "parent_id"}
            changes = {fields.get(name, name): data[name] for name in form.changed_data}
            if "parent_id" in changes:
                changes["parent_id"] = changes["parent_id"] or None
            if "slug" in changes and not changes["slug"]:
                del changes["slug"]  # an emptied slug keeps the current one
            return services.category_update(category_id=category.id, data=changes) if changes else category
        except ApplicationError as error:
            # The service names `parent_id`; the form calls it `parent`.
            if "parent_id" in error.details:
                error.details = {"parent": error.details["parent_id"]}
            raise

    def delete_summary(self, request, category):
        children = selectors.category_list(parent_id=category.id).count()
        products = selectors.product_list(include_inactive=True, category_id=category.id).count()
        protected = []
        if children:
            protected.append(f"{children} sub-categor{'y' if children == 1 else 'ies'} (move or delete them first)")
        if products:
            protected.append(f"{products} product(s) in this category (move or delete them first)")
        return [], {}, protected

    def document_delete(self, request, category):
        services.category_delete(category_id=category.id)


# --- stock rows (MySQL), named by their products ----------------------------------------------


class StockFilter(admin.SimpleListFilter):
    title = "stock"
    parameter_name = "stock"

    def lookups(self, request, model_admin):
        return [("low", "Low (at or below its threshold)"), ("out", "Out of stock")]

    def queryset(self, request, queryset):
        if self.value() == "low":
            return queryset.filter(quantity__lte=F("low_stock_threshold"))
        if self.value() == "out":
            return queryset.filter(quantity=0)
        return queryset


class InventoryForm(forms.ModelForm):
    restock = forms.IntegerField(
        min_value=1, max_value=inventory_services.MAX_STOCK, required=False, label="Restock: add units"
    )

    class Meta:
        model = Inventory
        fields = ["quantity", "low_stock_threshold"]


class StockChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One catalog query names the whole page.
        self.result_list = list(self.result_list)
        products = selectors.products_get_many(product_ids=[row.product_id for row in self.result_list])
        for row in self.result_list:
            row.product = products.get(row.product_id)


@admin.register(Inventory)
class InventoryAdmin(admin.ModelAdmin):
    """Stock by product name and SKU. Quantity and threshold are set, and units added, through
    inventory.services (the same conditional updates as the API); `reserved` moves only with
    orders. Rows come with their products: none is added here, and a row is deleted here only
    when its product is gone and it holds no reservation."""

    form = InventoryForm
    list_display = ["product_name", "sku", "quantity", "reserved", "low_stock_threshold", "is_low", "updated_at"]
    list_filter = [StockFilter]
    search_fields = ["product_id"]  # widened to names and SKUs by get_search_results
    search_help_text = "Product name, SKU or id."
    readonly_fields = ["product_link", "product_id", "reserved", "created_at", "updated_at"]
    fields = ["product_link", "product_id", "quantity", "restock", "low_stock_threshold", "reserved", "updated_at"]
    actions = ["restock_selected"]
    list_per_page = 50

    def get_changelist(self, request, **kwargs):
        return StockChangeList

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matching = list(selectors.product_list(include_inactive=True, search=term)[0:SEARCH_LIMIT])
        # A parent has no stock row; its variants do.
        ids = [product_id for product in matching for product_id in (product.id, *product.variant_ids)]
        exact = product_with_sku(term)
        if exact is not None:
            ids.append(exact.id)
        return queryset.filter(product_id__in=[*ids, term.lower()]), False

    def _product(self, row):
        product = getattr(row, "product", None)
        if product is None and not hasattr(row, "product"):
            product = selectors.products_get_many(product_ids=[row.product_id]).get(row.product_id)
            row.product = product
        return product

    @admin.display(description="product", ordering="product_id")
    def product_name(self, row):
        product = self._product(row)
        return product.name if product else f"(deleted product {row.product_id})"

    @admin.display(description="SKU")
    def sku(self, row):
        product = self._product(row)
        return (product.sku or "—") if product else "—"

    @admin.display(description="low", boolean=True)
    def is_low(self, row):
        return row.quantity <= row.low_stock_threshold

    @admin.display(description="product")
    def product_link(self, row):
        product = self._product(row)
        if product is None:
            return f"(deleted product {row.product_id})"
        url = reverse("admin:catalog_product_change", args=[row.product_id])
        return format_html('<a href="{}">{}</a>', url, product.name)

    def has_add_permission(self, request):
        return False

    def _deletable(self, row) -> bool:
        return row.reserved == 0 and self._product(row) is None

    def has_delete_permission(self, request, obj=None):
        # No bulk delete; one row at a time, and only an orphan without reservations.
        if obj is None:
            return False
        return super().has_delete_permission(request, obj) and self._deletable(obj)

    def delete_view(self, request, object_id, extra_context=None):
        row = self.get_object(request, unquote(object_id))
        if row is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self._deletable(row):
            if row.reserved:
                why = f"it holds {row.reserved} units reserved by open orders"
            else:
                why = "its product is in the catalog; delete the product instead"
            self.message_user(request, f"This stock row cannot be deleted: {why}.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:inventory_inventory_change", args=[row.product_id]))
        if not super().has_delete_permission(request, row):
            raise PermissionDenied
        if request.method == "POST":
            # Through the service, not Django's delete view (which holds a MySQL transaction).
            inventory_services.inventory_delete(product_id=row.product_id)
            self.log_deletions(request, [row])
            return self.response_delete(request, str(row), row.pk)
        return super().delete_view(request, object_id, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # No MySQL transaction around the form: inventory.services keeps its own short ones
        # and reads the catalog in between.
        try:
            return self._changeform_view(request, object_id, form_url, extra_context)
        except ApplicationError as error:
            self.message_user(request, service_errors(error), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        changed = set(form.changed_data)
        if changed & {"quantity", "low_stock_threshold"}:
            inventory_services.inventory_set(
                product_id=obj.product_id,
                quantity=data["quantity"] if "quantity" in changed else None,
                low_stock_threshold=data["low_stock_threshold"] if "low_stock_threshold" in changed else None,
            )
        if data.get("restock"):
            inventory_services.inventory_restock(product_id=obj.product_id, quantity=data["restock"])

    def save_related(self, request, form, formsets, change):
        """Nothing related: the row has no relations."""

    @admin.action(description="Restock selected products…", permissions=["change"])
    def restock_selected(self, request, queryset):
        form = RestockForm(request.POST if "apply" in request.POST else None)
        if form.is_valid():
            done, failed = 0, []
            for product_id in queryset.values_list("product_id", flat=True):
                try:
                    inventory_services.inventory_restock(product_id=product_id, quantity=form.cleaned_data["quantity"])
                    done += 1
                except ApplicationError as error:
                    failed.append(f"{product_id}: {error.message}")
            if done:
                self.message_user(
                    request, f"Added {form.cleaned_data['quantity']} units to {done} product(s).", messages.SUCCESS
                )
            for failure in failed:
                self.message_user(request, failure, messages.ERROR)
            return None
        rows = list(queryset)
        products = selectors.products_get_many(product_ids=[row.product_id for row in rows])
        context = {
            **self.admin_site.each_context(request),
            "title": "Restock",
            "subtitle": None,
            "opts": self.opts,
            "form": form,
            "rows": [(row, products.get(row.product_id)) for row in rows],
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/inventory/restock.html", context)
