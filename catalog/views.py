"""Catalog endpoints: validate with a serializer, call one selector or service, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import selectors, services
from catalog.cache import cached_read
from catalog.serializers import (
    CategoryInputSerializer,
    CategoryListParamsSerializer,
    CategorySerializer,
    CategoryUpdateSerializer,
    ProductCategoryFilterSerializer,
    ProductCreateSerializer,
    ProductFilterSerializer,
    ProductSearchParamsSerializer,
    ProductSerializer,
    ProductUpdateSerializer,
)
from ecommerce.api.permissions import IsStaffOrReadOnly, is_staff
from ecommerce.api.schema import error_response

# Ids in paths are 24 hex digits; anything else matches no route and answers the JSON 404.
OBJECT_ID_PATH = r"[0-9a-fA-F]{24}"

_PRODUCT_WRITE_ERRORS = {
    400: error_response("validation_error: invalid fields, or an unknown category_id."),
    409: error_response("conflict: the SKU is taken."),
}
_CATEGORY_WRITE_ERRORS = {
    400: error_response("validation_error: invalid fields, an unknown parent, or a parent that would make a loop."),
    409: error_response("conflict: the slug is taken."),
}


def _params(serializer_class, request) -> dict:
    # .dict(): a QueryDict would make DRF read an absent boolean as False.
    serializer = serializer_class(data=request.query_params.dict())
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class CategoryViewSet(viewsets.GenericViewSet):
    """Anyone reads categories; staff write them."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CategorySerializer
    lookup_value_regex = OBJECT_ID_PATH

    @extend_schema(parameters=[CategoryListParamsSerializer], responses=CategorySerializer(many=True))
    @cached_read
    def list(self, request):
        parent_id = _params(CategoryListParamsSerializer, request).get("parent_id")
        categories = selectors.category_list(
            parent_id=None if parent_id == "null" else parent_id, roots_only=parent_id == "null"
        )
        page = self.paginate_queryset(categories)
        return self.get_paginated_response(CategorySerializer(page, many=True).data)

    @extend_schema(request=CategoryInputSerializer, responses={201: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def create(self, request):
        serializer = CategoryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=CategorySerializer)
    @cached_read
    def retrieve(self, request, pk: str):
        return Response(CategorySerializer(selectors.category_get(category_id=pk)).data)

    @extend_schema(request=CategoryUpdateSerializer, responses={200: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def update(self, request, pk: str):
        serializer = CategoryUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category_id=pk, data=serializer.validated_data)
        return Response(CategorySerializer(category).data)

    @extend_schema(request=CategoryUpdateSerializer, responses={200: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def partial_update(self, request, pk: str):
        return self.update(request, pk)

    @extend_schema(
        responses={204: None, 409: error_response("conflict: products or sub-categories still refer to it.")}
    )
    def destroy(self, request, pk: str):
        services.category_delete(category_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductViewSet(viewsets.GenericViewSet):
    """Anyone reads active products; staff read all and write."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = ProductSerializer
    lookup_value_regex = OBJECT_ID_PATH

    def _page(self, products):
        page = self.paginate_queryset(products)
        return self.get_paginated_response(ProductSerializer(page, many=True).data)

    @extend_schema(parameters=[ProductFilterSerializer], responses=ProductSerializer(many=True))
    @cached_read
    def list(self, request):
        filters = _params(ProductFilterSerializer, request)
        return self._page(selectors.product_list(include_inactive=is_staff(request.user), **filters))

    @extend_schema(parameters=[ProductSearchParamsSerializer], responses=ProductSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="search")
    @cached_read
    def search(self, request):
        filters = _params(ProductSearchParamsSerializer, request)
        filters["search"] = filters.pop("q")
        return self._page(selectors.product_list(include_inactive=is_staff(request.user), **filters))

    @extend_schema(
        operation_id="api_products_category_list",
        parameters=[
            OpenApiParameter("category", OpenApiTypes.STR, OpenApiParameter.PATH, description="A category slug or id."),
            ProductCategoryFilterSerializer,
        ],
        responses=ProductSerializer(many=True),
    )
    @action(detail=False, methods=["get"], url_path=r"category/(?P<category>[^/]+)")
    @cached_read
    def category(self, request, category: str):
        filters = _params(ProductCategoryFilterSerializer, request)
        products = selectors.product_list_in_category(
            category=category, include_inactive=is_staff(request.user), **filters
        )
        return self._page(products)

    @extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def create(self, request):
        serializer = ProductCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ProductSerializer)
    @cached_read
    def retrieve(self, request, pk: str):
        product = selectors.product_get(product_id=pk, include_inactive=is_staff(request.user))
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def update(self, request, pk: str):
        serializer = ProductUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product_id=pk, data=serializer.validated_data)
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def partial_update(self, request, pk: str):
        return self.update(request, pk)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk: str):
        services.product_delete(product_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
