"""Catalog endpoints: validate with a serializer, call one selector or service, render."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from catalog import selectors, services
from catalog.cache import AnonymousHitsFirst, cached_read
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
    VariantCreateSerializer,
)
from ecommerce.api.permissions import IsStaffOrReadOnly, is_staff
from ecommerce.api.query import validated_query
from ecommerce.api.schema import error_response

# Ids in paths are 24 hex digits; anything else matches no route and answers the JSON 404.
OBJECT_ID_PATH = r"[0-9a-fA-F]{24}"

_PRODUCT_WRITE_ERRORS = {
    400: error_response(
        "validation_error: invalid fields, an unknown category_id, or a field the product's kind does not have "
        "(a parent's price, sku or initial_stock; a variant's category_id or tags)."
    ),
    409: error_response("conflict: the SKU is taken, or (a variant's options) another variant has that combination."),
}
_VARIANT_WRITE_ERRORS = {
    400: error_response(
        "validation_error: invalid fields, options that do not name exactly the parent's option names, "
        "or a product that is not a parent."
    ),
    404: error_response("not_found: no such product."),
    409: error_response("conflict: the SKU is taken, or another variant of the parent has these options."),
}
_CATEGORY_WRITE_ERRORS = {
    400: error_response("validation_error: invalid fields, an unknown parent, or a parent that would make a loop."),
    409: error_response("conflict: the slug is taken."),
}


class CategoryViewSet(AnonymousHitsFirst, viewsets.GenericViewSet):
    """Anyone reads categories; staff write them."""

    permission_classes = [IsStaffOrReadOnly]
    serializer_class = CategorySerializer
    lookup_value_regex = OBJECT_ID_PATH

    @extend_schema(parameters=[CategoryListParamsSerializer], responses=CategorySerializer(many=True))
    @cached_read
    def list(self, request):
        """List categories by name; `?parent_id=` for one category's children, `null` for the top level."""
        parent_id = validated_query(CategoryListParamsSerializer, request).get("parent_id")
        categories = selectors.category_list(
            parent_id=None if parent_id == "null" else parent_id, roots_only=parent_id == "null"
        )
        page = self.paginate_queryset(categories)
        return self.get_paginated_response(CategorySerializer(page, many=True).data)

    @extend_schema(request=CategoryInputSerializer, responses={201: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def create(self, request):
        """Create a category (staff); the slug derives from the name when absent."""
        serializer = CategoryInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        category = services.category_create(**serializer.validated_data)
        return Response(CategorySerializer(category).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=CategorySerializer)
    @cached_read
    def retrieve(self, request, pk: str):
        """Get a category."""
        return Response(CategorySerializer(selectors.category_get(category_id=pk)).data)

    @extend_schema(request=CategoryUpdateSerializer, responses={200: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def update(self, request, pk: str):
        """Update a category (staff); only the fields sent change."""
        serializer = CategoryUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        category = services.category_update(category_id=pk, data=serializer.validated_data)
        return Response(CategorySerializer(category).data)

    @extend_schema(request=CategoryUpdateSerializer, responses={200: CategorySerializer, **_CATEGORY_WRITE_ERRORS})
    def partial_update(self, request, pk: str):
        """Update a category (staff); only the fields sent change."""
        return self.update(request, pk)

    @extend_schema(
        responses={204: None, 409: error_response("conflict: products or sub-categories still refer to it.")}
    )
    def destroy(self, request, pk: str):
        """Delete a category (staff) that no product or sub-category refers to."""
        services.category_delete(category_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ProductViewSet(AnonymousHitsFirst, viewsets.GenericViewSet):
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
        """List standalone products and parents (never variants), filtered and sorted."""
        filters = validated_query(ProductFilterSerializer, request)
        return self._page(selectors.product_list(include_inactive=is_staff(request.user), **filters))

    @extend_schema(parameters=[ProductSearchParamsSerializer], responses=ProductSerializer(many=True))
    @action(detail=False, methods=["get"], url_path="search")
    @cached_read
    def search(self, request):
        """Search products by name, description and tags, and parents by their variants' SKUs."""
        filters = validated_query(ProductSearchParamsSerializer, request)
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
        """List the products of a category (slug or id) and of its sub-categories."""
        filters = validated_query(ProductCategoryFilterSerializer, request)
        products = selectors.product_list_in_category(
            category=category, include_inactive=is_staff(request.user), **filters
        )
        return self._page(products)

    @extend_schema(request=ProductCreateSerializer, responses={201: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def create(self, request):
        """Create a product (staff): standalone with a price, or a parent with option_names."""
        serializer = ProductCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        product = services.product_create(**serializer.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=ProductSerializer)
    @cached_read
    def retrieve(self, request, pk: str):
        """Get a product of any kind; a parent answers its variants with their stock."""
        product = selectors.product_detail(product_id=pk, include_inactive=is_staff(request.user))
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def update(self, request, pk: str):
        """Update a product (staff); only the fields sent change."""
        serializer = ProductUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        product = services.product_update(product_id=pk, data=serializer.validated_data)
        return Response(ProductSerializer(product).data)

    @extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer, **_PRODUCT_WRITE_ERRORS})
    def partial_update(self, request, pk: str):
        """Update a product (staff); only the fields sent change."""
        return self.update(request, pk)

    @extend_schema(responses={204: None})
    def destroy(self, request, pk: str):
        """Delete a product (staff), with its stock row, reviews and wishlist entries; a parent with its variants."""
        services.product_delete(product_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        operation_id="api_products_variants_list",
        responses={
            200: ProductSerializer(many=True),
            400: error_response("validation_error: the product is not a parent."),
            404: error_response("not_found: no such product (customers: or an inactive one)."),
        },
    )
    @action(detail=True, methods=["get"], url_path="variants")
    @cached_read
    def variants(self, request, pk: str):
        """List a parent's variants, oldest first (customers see the active ones)."""
        return self._page(selectors.variant_list(parent_id=pk, include_inactive=is_staff(request.user)))

    @extend_schema(
        operation_id="api_products_variants_create",
        request=VariantCreateSerializer,
        responses={201: ProductSerializer, **_VARIANT_WRITE_ERRORS},
    )
    @variants.mapping.post
    def variant_create(self, request, pk: str):
        """Add a variant to a parent (staff): its own SKU, options, price and stock."""
        serializer = VariantCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        variant = services.variant_create(parent_id=pk, **serializer.validated_data)
        return Response(ProductSerializer(variant).data, status=status.HTTP_201_CREATED)
