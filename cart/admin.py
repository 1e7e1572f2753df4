from django.contrib import admin

from cart.models import CartItem


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "product_id", "quantity", "updated_at"]
    search_fields = ["user__email", "product_id"]
    list_select_related = ["user"]
    raw_id_fields = ["user"]
