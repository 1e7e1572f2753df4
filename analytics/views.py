from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics import selectors
from analytics.serializers import (
    PopularProductsSerializer,
    PopularQuerySerializer,
    RangeQuerySerializer,
    RevenueSerializer,
    SalesQuerySerializer,
    SalesSeriesSerializer,
)
from ecommerce.api.permissions import IsStaff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import OBJECT_ID_SCHEMA

_RANGE = [
    OpenApiParameter(
        "from", OpenApiTypes.DATE, description="First day, YYYY-MM-DD (default: 29 days before `to`); at most 366 days."
    ),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day, YYYY-MM-DD, inclusive (default: today, UTC)."),
]


class AnalyticsViewSet(viewsets.ViewSet):
    """Sales figures of non-cancelled orders by the UTC day they were placed. Staff only."""

    permission_classes = [IsStaff]

    @extend_schema(
        parameters=[*_RANGE, OpenApiParameter("product_id", OBJECT_ID_SCHEMA, description="Only this product.")],
        responses=SalesSeriesSerializer,
    )
    @action(detail=False, methods=["get"])
    def sales(self, request):
        """Net orders, units and revenue per day, days without sales as zeros."""
        query = validated_query(SalesQuerySerializer, request)
        series = selectors.sales_series(
            date_from=query["from"], date_to=query["to"], product_id=query.get("product_id")
        )
        return Response(SalesSeriesSerializer({"from": query["from"], "to": query["to"], "series": series}).data)

    @extend_schema(
        parameters=[
            *_RANGE,
            OpenApiParameter(
                "limit", {"type": "integer", "minimum": 1, "maximum": 100}, description="1..100, default 10."
            ),
            OpenApiParameter(
                "group",
                {"type": "string", "enum": list(selectors.GROUPS)},
                description="`parent`: a variant's sales count under its parent (default `product`).",
            ),
        ],
        responses=PopularProductsSerializer,
    )
    @action(detail=False, methods=["get"], url_path="popular-products")
    def popular_products(self, request):
        """Products by units sold; `?group=parent` sums variants under their parent."""
        query = validated_query(PopularQuerySerializer, request)
        results = selectors.popular_products(
            date_from=query["from"], date_to=query["to"], limit=query["limit"], group=query["group"]
        )
        return Response(PopularProductsSerializer({"results": results}).data)

    @extend_schema(parameters=_RANGE, responses=RevenueSerializer)
    @action(detail=False, methods=["get"])
    def revenue(self, request):
        """Gross, cancelled and net revenue with the average order value."""
        query = validated_query(RangeQuerySerializer, request)
        summary = selectors.revenue_summary(date_from=query["from"], date_to=query["to"])
        return Response(RevenueSerializer(summary).data)
