from django.contrib import admin

from analytics.models import DailySales, ProductSales


class ReadOnlyAdmin(admin.ModelAdmin):
    """Sales figures move only with orders: staff read them here, nobody edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DailySales)
class DailySalesAdmin(ReadOnlyAdmin):
    list_display = ["date", "orders", "units", "revenue", "cancelled_orders", "cancelled_revenue"]
    date_hierarchy = "date"


@admin.register(ProductSales)
class ProductSalesAdmin(ReadOnlyAdmin):
    list_display = ["date", "product_id", "name", "orders", "units", "revenue", "cancelled_units", "cancelled_revenue"]
    search_fields = ["product_id", "name"]
    date_hierarchy = "date"
