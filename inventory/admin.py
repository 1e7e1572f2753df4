from django.contrib import admin

from ecommerce.admin import ReadOnlyAdmin
from inventory.models import Inventory, StockReservation


@admin.register(Inventory)
class InventoryAdmin(admin.ModelAdmin):
    list_display = ["product_id", "quantity", "reserved", "low_stock_threshold", "updated_at"]
    search_fields = ["product_id"]
    # `reserved` moves only with orders; editing it here would break the books.
    readonly_fields = ["reserved", "created_at", "updated_at"]

    def save_model(self, request, obj, form, change):
        if change:
            # Write only what the form changed: a full save would put back a stale `reserved`
            # over a reservation made since the page was loaded.
            obj.save(update_fields=[*form.changed_data, "updated_at"])
        else:
            obj.save()


@admin.register(StockReservation)
class StockReservationAdmin(ReadOnlyAdmin):
    """Read-only: reservations change only through orders and reconcile_orders."""

    list_display = ["order_reference", "product_id", "quantity", "unit_price", "status", "sales_date", "created_at"]
    list_filter = ["status"]
    search_fields = ["order_reference", "product_id"]
