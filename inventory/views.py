from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from ecommerce.api.permissions import IsStaff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import OBJECT_ID_SCHEMA
from inventory import selectors, services
from inventory.serializers import (
    InventoryListQuerySerializer,
    InventorySerializer,
    InventoryUpdateSerializer,
    LowStockQuerySerializer,
    RestockSerializer,
)


class InventoryViewSet(viewsets.GenericViewSet):
    """Stock per product (MySQL). Staff only."""

    permission_classes = [IsStaff]
    serializer_class = InventorySerializer
    lookup_field = "product_id"
    lookup_value_regex = r"[^/]+"

    def dispatch(self, request, *args, **kwargs):
        # Ids are stored lower-case; an upper-case id names the same product.
        if "product_id" in kwargs:
            kwargs["product_id"] = kwargs["product_id"].lower()
        return super().dispatch(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "product_id",
                OBJECT_ID_SCHEMA,
                description="Only this product's rows: a parent's are its variants' rows (a parent holds no stock).",
            )
        ],
        responses=InventorySerializer(many=True),
    )
    def list(self, request):
        """Stock rows, by product id; `?product_id=` a parent's lists its variants' rows."""
        query = validated_query(InventoryListQuerySerializer, request)
        page = self.paginate_queryset(selectors.inventory_list(**query))
        return self.get_paginated_response(InventorySerializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("threshold", int, description="Instead of each row's own threshold.")],
        responses=InventorySerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path="low-stock")
    def low_stock(self, request):
        """Rows at or below their low-stock threshold (or `?threshold=`), lowest first."""
        query = validated_query(LowStockQuerySerializer, request)
        page = self.paginate_queryset(selectors.inventory_low_stock(**query))
        return self.get_paginated_response(InventorySerializer(page, many=True).data)

    def retrieve(self, request, product_id: str):
        """One product's stock row."""
        return Response(InventorySerializer(selectors.inventory_get(product_id=product_id)).data)

    @extend_schema(request=InventoryUpdateSerializer, responses=InventorySerializer)
    def update(self, request, product_id: str):
        """Set a row's quantity and/or low-stock threshold."""
        body = InventoryUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.inventory_set(product_id=product_id, **body.validated_data)
        return Response(InventorySerializer(row).data)

    @extend_schema(request=InventoryUpdateSerializer, responses=InventorySerializer)
    def partial_update(self, request, product_id: str):
        """Set a row's quantity and/or low-stock threshold."""
        return self.update(request, product_id)

    @extend_schema(request=RestockSerializer, responses=InventorySerializer)
    @action(detail=True, methods=["post"])
    def restock(self, request, product_id: str):
        """Add units to a row atomically."""
        body = RestockSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        row = services.inventory_restock(product_id=product_id, quantity=body.validated_data["quantity"])
        return Response(InventorySerializer(row).data)
