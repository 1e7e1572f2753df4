"""Carts in the back office, read-only: a cart is its customer's, and lines are added or
changed only through the cart's services (the API), which check the product is for sale and
the quantities are in bounds. Staff may remove a line, through the same service."""

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from cart import services
from cart.models import CartItem
from catalog import selectors as catalog_selectors


class CartChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        # One catalog query names the whole page.
        self.result_list = list(self.result_list)
        products = catalog_selectors.products_get_many(product_ids=[i.product_id for i in self.result_list])
        for item in self.result_list:
            item.product = products.get(item.product_id)


@admin.register(CartItem)
class CartItemAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "product_name", "product_id", "quantity", "updated_at"]
    search_fields = ["user__email", "product_id"]
    search_help_text = "Customer email or product id."
    list_select_related = ["user"]
    fields = ["user", "product_name", "product_id", "quantity", "created_at", "updated_at"]
    readonly_fields = fields
    actions = None

    def get_changelist(self, request, **kwargs):
        return CartChangeList

    @admin.display(description="product")
    def product_name(self, item):
        if not hasattr(item, "product"):
            item.product = catalog_selectors.products_get_many(product_ids=[item.product_id]).get(item.product_id)
        return item.product.name if item.product else "(deleted product)"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def delete_model(self, request, obj):
        services.cart_item_remove(user_id=obj.user_id, item_id=obj.pk)
