from django.contrib import admin

from analytics.models import DailySales, ProductSales
from ecommerce.backoffice.kit import ReadOnlyAdmin


@admin.register(DailySales)
class DailySalesAdmin(ReadOnlyAdmin):
    list_display = ["date", "orders", "units", "revenue", "cancelled_orders", "cancelled_revenue"]
    date_hierarchy = "date"


@admin.register(ProductSales)
class ProductSalesAdmin(ReadOnlyAdmin):
    list_display = ["date", "product_id", "name", "orders", "units", "revenue", "cancelled_units", "cancelled_revenue"]
    search_fields = ["product_id", "name"]
    date_hierarchy = "date"
