from django.contrib import admin

from orders.models import IdempotencyKey, Order, OrderLine


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = ["product_id", "name", "unit_price", "quantity", "line_total"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Orders are read here; their status moves only through the API (which moves the stock
    with it), so nothing is editable."""

    list_display = ["id", "email", "status", "total", "currency", "created_at"]
    list_filter = ["status", "cancel_reason"]
    search_fields = ["email", "reference"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline]
    readonly_fields = [
        "reference",
        "user",
        "email",
        "status",
        "cancel_reason",
        "total",
        "currency",
        "shipping_address",
        "idempotency_key",
        "created_at",
        "updated_at",
    ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(admin.ModelAdmin):
    list_display = ["user", "key", "status", "response_status", "order", "created_at"]
    list_filter = ["status"]
    search_fields = ["key", "user__email"]
    raw_id_fields = ["user", "order"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
