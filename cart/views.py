from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from cart import selectors, services
from cart.serializers import CartItemAddSerializer, CartItemUpdateSerializer, CartSerializer
from ecommerce.api.schema import error_response
from users.selectors import user_get_for

_USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The cart owner's id.")
_ITEM_ID = OpenApiParameter("item_id", int, OpenApiParameter.PATH, description="A line of that cart.")


@extend_schema(parameters=[_USER_ID])
class CartViewSet(viewsets.ViewSet):
    """A user's cart, for its owner or staff (another customer's cart is 404)."""

    lookup_field = "user_id"
    lookup_value_regex = r"\d{1,18}"

    def _owner_id(self, request, user_id: str) -> int:
        return user_get_for(actor=request.user, user_id=int(user_id)).pk

    def _cart(self, user_id: int) -> dict:
        return CartSerializer(selectors.cart_get(user_id=user_id)).data

    @extend_schema(responses=CartSerializer)
    def retrieve(self, request, user_id: str):
        return Response(self._cart(self._owner_id(request, user_id)))

    @extend_schema(
        request=CartItemAddSerializer,
        responses={
            201: CartSerializer,
            400: error_response(
                "validation_error: bad fields, an unknown or inactive product, a parent (details.product_id "
                "lists its variants' ids), over 1000 units in the line or over 100 products in the cart."
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def items(self, request, user_id: str):
        owner_id = self._owner_id(request, user_id)
        body = CartItemAddSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        cart = services.cart_item_add(user_id=owner_id, **body.validated_data)
        return Response(CartSerializer(cart).data, status=status.HTTP_201_CREATED)

    @extend_schema(parameters=[_ITEM_ID], request=CartItemUpdateSerializer, responses=CartSerializer)
    @action(detail=True, methods=["patch"], url_path=r"items/(?P<item_id>\d{1,18})")
    def item(self, request, user_id: str, item_id: str):
        owner_id = self._owner_id(request, user_id)
        body = CartItemUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.cart_item_set_quantity(user_id=owner_id, item_id=int(item_id), **body.validated_data)
        return Response(self._cart(owner_id))

    @extend_schema(parameters=[_ITEM_ID], responses={204: None})
    @item.mapping.delete
    def item_delete(self, request, user_id: str, item_id: str):
        services.cart_item_remove(user_id=self._owner_id(request, user_id), item_id=int(item_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(responses={204: None})
    @action(detail=True, methods=["delete"])
    def clear(self, request, user_id: str):
        services.cart_clear(user_id=self._owner_id(request, user_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
