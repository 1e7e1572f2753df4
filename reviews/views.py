from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response

from ecommerce.api.query import validated_query
from ecommerce.api.schema import error_response
from reviews import selectors, services
from reviews.serializers import (
    ReviewCreateSerializer,
    ReviewListQuerySerializer,
    ReviewSerializer,
    WishlistItemAddSerializer,
    WishlistSerializer,
)

_PRODUCT_ID = OpenApiParameter(
    "product_id", str, OpenApiParameter.PATH, description="The product's id (24 hex digits)."
)
_REVIEW_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The review's id (24 hex digits).")


class ReviewViewSet(viewsets.GenericViewSet):
    serializer_class = ReviewSerializer

    def get_permissions(self):
        if self.action == "for_product":
            return [AllowAny()]
        return [IsAuthenticated()]

    @extend_schema(
        request=ReviewCreateSerializer,
        responses={
            201: ReviewSerializer,
            400: error_response("validation_error: invalid fields, or an unknown or inactive product."),
            409: error_response("conflict: the caller already reviewed this product."),
        },
    )
    def create(self, request):
        """Review a product (one review per user and product); a variant's review is filed under its parent."""
        serializer = ReviewCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        review = services.review_create(actor=request.user, **serializer.validated_data)
        return Response(ReviewSerializer(review).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            _PRODUCT_ID,
            ReviewListQuerySerializer,
            OpenApiParameter("limit", int, description="Page size, 1..100 (default 20)."),
            OpenApiParameter("offset", int, description="Items to skip (default 0)."),
        ],
        responses={200: ReviewSerializer(many=True)},
    )
    @action(detail=False, methods=["get"], url_path=r"product/(?P<product_id>[^/]+)")
    def for_product(self, request, product_id: str):
        """List a product's reviews, paginated (a variant answers its parent's). 404 for an unknown product."""
        query = validated_query(ReviewListQuerySerializer, request)
        reviews = selectors.review_list_for_product(actor=request.user, product_id=product_id, sort=query["sort"])
        page = self.paginate_queryset(reviews)
        return self.get_paginated_response(ReviewSerializer(page, many=True).data)

    @extend_schema(parameters=[_REVIEW_ID], responses={204: OpenApiResponse(description="Deleted.")})
    def destroy(self, request, pk: str):
        """Delete a review (its author or staff); another customer's review answers 404."""
        services.review_delete(actor=request.user, review_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[_REVIEW_ID], request=None, responses={200: ReviewSerializer})
    @action(detail=True, methods=["post"])
    def helpful(self, request, pk: str):
        """Vote a review helpful; counts once per user, a repeat changes nothing."""
        review = services.review_mark_helpful(actor=request.user, review_id=pk)
        return Response(ReviewSerializer(review).data)


_USER_ID = OpenApiParameter("user_id", int, OpenApiParameter.PATH, description="The wishlist owner's user id.")


class WishlistViewSet(viewsets.GenericViewSet):
    serializer_class = WishlistSerializer
    permission_classes = [IsAuthenticated]
    lookup_field = "user_id"
    lookup_value_regex = r"\d+"

    @extend_schema(parameters=[_USER_ID], responses={200: WishlistSerializer})
    def retrieve(self, request, user_id: str):
        """Get a user's wishlist (the owner or staff); another customer's answers 404."""
        wishlist = selectors.wishlist_get(actor=request.user, user_id=int(user_id))
        return Response(WishlistSerializer(wishlist).data)

    @extend_schema(
        parameters=[_USER_ID],
        request=WishlistItemAddSerializer,
        responses={
            201: OpenApiResponse(WishlistSerializer, description="Added; the wishlist."),
            200: OpenApiResponse(WishlistSerializer, description="Already there; the wishlist, unchanged."),
            400: error_response("validation_error: invalid or unknown product, or the wishlist is full."),
        },
    )
    @action(detail=True, methods=["post"], url_path="items")
    def add_item(self, request, user_id: str):
        """Add a standalone product or a variant to a wishlist; 200 when already there."""
        serializer = WishlistItemAddSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        wishlist, created = services.wishlist_item_add(
            actor=request.user, user_id=int(user_id), product_id=serializer.validated_data["product_id"]
        )
        return Response(
            WishlistSerializer(wishlist).data, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK
        )

    @extend_schema(parameters=[_USER_ID, _PRODUCT_ID], responses={204: OpenApiResponse(description="Removed.")})
    @action(detail=True, methods=["delete"], url_path=r"items/(?P<product_id>[^/]+)")
    def remove_item(self, request, user_id: str, product_id: str):
        """Remove a product from a wishlist; 404 when it is not there."""
        services.wishlist_item_remove(actor=request.user, user_id=int(user_id), product_id=product_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
