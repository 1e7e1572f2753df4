"""Stock reservations in the back office, read-only. The stock rows' own page is in
catalog/admin.py, which names each row by its product (the catalog may read the inventory,
not the reverse)."""

from django.contrib import admin

from ecommerce.backoffice.kit import ReadOnlyAdmin
from inventory.models import StockReservation


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdmin):
    """Read-only: reservations change only through orders and reconcile_orders."""

    list_display = ["order_reference", "product_id", "quantity", "unit_price", "status", "sales_date", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_reference", "product_id"]
