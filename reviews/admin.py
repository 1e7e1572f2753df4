"""Reviews in the back office: a product's reviews with their authors and ratings, read-only,
and their removal (moderation) through reviews.services, which takes the review out of the
product's rating exactly once. Permissions: `reviews.view_review`, `reviews.delete_review`.

Reviews are listed by product (the reviews selectors list them per product); a product's page
links here, and without a product the search box finds one.
"""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from catalog import admin as catalog_admin
from catalog import selectors as catalog_selectors
from ecommerce.api.exceptions import ApplicationError
from ecommerce.backoffice.kit import (
    Column,
    DocumentAction,
    DocumentAdmin,
    DocumentFilter,
    DocumentHandle,
    document_handle,
)
from reviews import selectors, services
from users import selectors as user_selectors

SORTS = [("recent", "Newest"), ("helpful", "Most helpful"), ("rating", "Lowest rating"), ("-rating", "Highest rating")]
PRODUCT_CHOICES_LIMIT = 20


@document_handle
class Review(DocumentHandle):
    class Meta:
        managed = False
        app_label = "reviews"
        verbose_name = "review"
        default_permissions = ("view", "delete")


class ReviewForm(forms.Form):
    """What staff read of a review; nothing here is editable (a review is its author's words)."""

    product = forms.CharField()
    author = forms.CharField()
    rating = forms.IntegerField()
    title = forms.CharField()
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), required=False)
    helpful_count = forms.IntegerField(label="Helpful votes")
    created_at = forms.DateTimeField(label="Written")


def _author_id(request) -> int | None:
    """?author=: a user's id (digits; anything else lists nothing by author)."""
    author = request.GET.get("author", "")
    return int(author) if author.isdigit() and len(author) <= 18 else None


def _stars(rating: int) -> str:
    return "★" * rating + "☆" * (5 - rating)


@admin.register(Review)
class ReviewAdmin(DocumentAdmin):
    search_help_text = "Find a product by name, tag or SKU to see its reviews (an author's: their link in a list)."
    form_class = ReviewForm

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = [
            Column("Title", lambda r, page: r.title),
            Column("Rating", lambda r, page: _stars(r.rating)),
            Column("Author", self._author_cell),
            Column("Helpful", lambda r, page: r.helpful_count),
            Column("Written", lambda r, page: r.created_at.strftime("%Y-%m-%d %H:%M")),
        ]
        self.filters = [DocumentFilter("order", "sort", lambda: SORTS)]
        self.document_actions = [
            DocumentAction("delete_reviews", "Delete selected reviews", self._delete_selected, permission="delete")
        ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def document_get(self, object_id):
        try:
            return selectors.review_get(review_id=object_id)
        except ApplicationError:
            return None

    def document_label(self, review) -> str:
        return review.title

    def document_slice(self, request, *, search, filters):
        author = _author_id(request)
        if author is not None:
            return selectors.review_list_by_author(user_id=author, sort=filters.get("sort") or "recent")
        product_id = request.GET.get("product", "")
        if not product_id:
            return []
        try:
            return selectors.review_list_for_product(
                actor=request.user, product_id=product_id, sort=filters.get("sort") or "recent"
            )
        except ApplicationError:
            return []

    def rows_prepare(self, reviews):
        ids = {review.user_id for review in reviews}
        return {"authors": dict(user_selectors.user_list().filter(pk__in=ids).values_list("pk", "email"))}

    def _author_cell(self, review, page):
        email = page["authors"].get(review.user_id)
        theirs = f"?author={review.user_id}"
        if email is None:
            return format_html('deleted user #{} (<a href="{}">reviews</a>)', review.user_id, theirs)
        user_page = reverse("admin:users_user_change", args=[review.user_id])
        return format_html('<a href="{}">{}</a> (<a href="{}">reviews</a>)', user_page, email, theirs)

    def changelist_extra(self, request) -> dict:
        author = _author_id(request)
        if author is not None:
            found = user_selectors.user_find(user_id=author)
            return {
                "title": f"Reviews by {found.email if found else f'deleted user #{author}'}",
                "show_search": False,
                "review_author": True,
            }
        product_id = request.GET.get("product", "")
        search = request.GET.get("q", "").strip()
        product = None
        if product_id:
            try:
                product = catalog_selectors.product_get(product_id=product_id, include_inactive=True)
            except ApplicationError:
                self.message_user(request, "No such product.", messages.WARNING)
        found = []
        if search:
            matching = catalog_selectors.product_list(include_inactive=True, search=search)
            found = [
                {"name": p.name, "sku": p.sku, "url": f"?product={p.id}"} for p in matching[0:PRODUCT_CHOICES_LIMIT]
            ]
        return {
            "title": f"Reviews of {product.name}" if product else "Reviews: choose a product",
            "show_search": product is None,
            "review_product": product,
            "found_products": found,
        }

    change_list_template = "admin/reviews/change_list.html"

    def form_initial(self, review) -> dict:
        author = user_selectors.user_find(user_id=review.user_id)
        products = catalog_selectors.products_get_many(product_ids=[review.product_id])
        product = products.get(review.product_id)
        return {
            "product": product.name if product else review.product_id,
            "author": author.email if author else f"deleted user #{review.user_id}",
            "rating": review.rating,
            "title": review.title,
            "body": review.body,
            "helpful_count": review.helpful_count,
            "created_at": review.created_at,
        }

    def change_extra(self, request, review) -> dict:
        url = reverse("admin:reviews_review_changelist") + f"?product={review.product_id}"
        return {"object_links": [{"label": "The product's reviews", "url": url}]}

    change_form_template = "admin/documents/change_form.html"

    def delete_summary(self, request, review):
        lines = [f"Its {review.helpful_count} helpful vote(s)"] if review.helpful_count else []
        return lines, {"reviews": 1}, []

    def document_delete(self, request, review):
        services.review_delete(actor=request.user, review_id=review.id)

    def response_delete(self, request, obj_display, obj_id):
        response = super().response_delete(request, obj_display, obj_id)
        document = self.document_get(obj_id)  # gone now; go back to its product's list when known
        if document is None and getattr(request, "_review_product", None):
            response["Location"] = reverse("admin:reviews_review_changelist") + f"?product={request._review_product}"
        return response

    def delete_model(self, request, obj):
        request._review_product = obj.document.product_id
        super().delete_model(request, obj)

    def _delete_selected(self, request, ids):
        deleted, failed = 0, []
        for review_id in ids:
            try:
                services.review_delete(actor=request.user, review_id=review_id)
                deleted += 1
            except ApplicationError as error:
                failed.append(f"{review_id}: {error.message}")
        if deleted:
            self.message_user(request, f"{deleted} review(s) deleted; the product's rating no longer counts them.")
        for failure in failed:
            self.message_user(request, failure, messages.ERROR)


def _review_count(request, product_id: str) -> int:
    return selectors.review_list_for_product(actor=request.user, product_id=product_id).count()


@catalog_admin.on_product_delete_summary
def _what_goes_with_a_product(request, product_id: str):
    count = _review_count(request, product_id)
    lines = [f"{count} review(s) and their helpful votes"] if count else []
    lines.append("Its entries in customers' wishlists")
    return lines, {"reviews": count} if count else {}


@catalog_admin.on_product_links
def _reviews_link(request, product_id: str):
    if not request.user.has_perm("reviews.view_review"):
        return []
    url = reverse("admin:reviews_review_changelist") + f"?product={product_id}"
    return [{"label": f"Reviews ({_review_count(request, product_id)})", "url": url}]
