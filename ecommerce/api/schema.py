"""OpenAPI: the schema as good as the API, made centrally so every app's endpoints get it.

This AutoSchema and the postprocessing hook below give every operation, today's and those
added later, what a client generator and a reader need without each view repeating it:

- a summary and a description, from the action's docstring (first line, then the rest),
  falling back to `OPERATION_TEXT` for the actions that have none;
- one tag per domain, from the path (`TAGS` lists them in the README's order);
- the error statuses the shared machinery can answer (bad input, auth, permissions, unknown
  ids, body cap, throttling, a store down), typed: `ValidationError` for 400, `OutOfStockError`
  where a 409 can be `out_of_stock`, `Error` (with `details.database` for 503) elsewhere;
- the response headers: `X-Request-ID` everywhere, `Retry-After` on 429, `Idempotent-Replayed`
  on the success of operations that take an `Idempotency-Key`;
- money as what it is: a non-negative decimal string with exactly two places in answers;
- security a generator can act on (see `AutoSchema.get_operation`);
- enum member names for values that are not identifiers (`-price` is `PRICE_DESC`).
"""

import inspect
import re

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import get_doc
from rest_framework import permissions, serializers, viewsets
from rest_framework.permissions import AllowAny

from ecommerce.api.permissions import IsStaffOrReadOnly

OBJECT_ID_PATTERN = "^[0-9a-fA-F]{24}$"
OBJECT_ID_SCHEMA = {"type": "string", "pattern": OBJECT_ID_PATTERN, "example": "6b0da54becce2e8703ae3d6f"}

ERROR_REF = "#/components/schemas/Error"
VALIDATION_ERROR_REF = "#/components/schemas/ValidationError"
OUT_OF_STOCK_ERROR_REF = "#/components/schemas/OutOfStockError"

# The tags, one per domain, in the README's order; `get_tags` maps each path to one.
TAGS = [
    {"name": "auth", "description": "JWT bearer tokens: obtain with email and password, refresh."},
    {"name": "users", "description": "Registration, profiles, a user's orders."},
    {"name": "products", "description": "The catalog's products: public reads, staff writes (MongoDB)."},
    {"name": "categories", "description": "The category tree: public reads, staff writes (MongoDB)."},
    {"name": "inventory", "description": "Stock per product, staff only (MySQL)."},
    {"name": "cart", "description": "A customer's cart, priced live from the catalog (PostgreSQL)."},
    {"name": "orders", "description": "Placing (with Idempotency-Key), reading, cancelling and moving orders."},
    {"name": "payments", "description": "Payments and refunds of orders, and the providers' webhooks."},
    {"name": "analytics", "description": "Sales figures of non-cancelled orders, staff only (MySQL)."},
    {"name": "reviews", "description": "Product reviews and helpful votes (MongoDB)."},
    {"name": "wishlist", "description": "A customer's wishlist (MongoDB)."},
    {"name": "events", "description": "The event feed, order timelines and webhook subscriptions."},
    {"name": "health", "description": "Probes: the stores' health and liveness."},
]
_TAG_NAMES = {tag["name"] for tag in TAGS}
# A nested resource that belongs to another domain than its path prefix:
# /api/orders/{id}/payments is payments, /api/orders/{id}/events is events.
_NESTED_DOMAINS = {"payments": "payments", "refunds": "payments", "events": "events", "webhooks": "events"}
_PREFIX_DOMAINS = {"webhooks": "events"}

# Summary and description of the actions without a docstring, by operationId. An action's
# own docstring wins over its entry here as soon as it has more than one line.
OPERATION_TEXT = {
    "api_auth_token_create": (
        "Obtain an access and a refresh token",
        "Email and password in; a short-lived access JWT (send it as `Authorization: Bearer <access>`) "
        "and a refresh JWT out. Rate-limited per IP and per account.",
    ),
    "api_auth_token_refresh_create": (
        "Refresh an access token",
        "A refresh JWT in, a new access JWT out. A refresh token of a deleted or deactivated user is refused.",
    ),
    "api_users_list": ("List users", "Staff only. Paginated; `?search=` matches email and names."),
    "api_users_create": (
        "Register a customer",
        "Anyone. Answers the new user (never a password); an email already taken is a 409 `conflict`, "
        "a weak password a 400.",
    ),
    "api_users_me_retrieve": ("The signed-in user", "The caller's own user."),
    "api_users_retrieve": ("Get a user", "Self or staff; another customer's id answers 404."),
    "api_users_update": (
        "Update a user",
        "Self or staff. Only the fields sent change; `is_staff` is changeable by staff only; "
        "a customer changing their own email or password sends `current_password`.",
    ),
    "api_users_partial_update": ("Update a user (PATCH)", "The same as PUT: only the fields sent change."),
    "api_users_destroy": (
        "Delete a user",
        "Self or staff. The user's orders are kept (their `user_id` becomes null, the email snapshot stays).",
    ),
    "api_users_orders_list": ("List a user's orders", "Newest first; self or staff."),
    "api_categories_list": (
        "List categories",
        "Anyone. Paginated; `?parent_id=<id>` lists a category's children, `?parent_id=null` the roots.",
    ),
    "api_categories_create": (
        "Create a category",
        "Staff only. `slug` is derived from the name when absent (a taken derived slug gets a `-2` "
        "suffix); a slug sent and taken is a 409; an unknown `parent_id` a 400.",
    ),
    "api_categories_retrieve": ("Get a category", "Anyone."),
    "api_categories_update": (
        "Update a category",
        "Staff only. Only the fields sent change; a category cannot become its own ancestor (400).",
    ),
    "api_categories_partial_update": ("Update a category (PATCH)", "The same as PUT: only the fields sent change."),
    "api_categories_destroy": (
        "Delete a category",
        "Staff only. 409 while products or child categories refer to it.",
    ),
    "api_products_list": (
        "List products",
        "Anyone; customers and anonymous callers see active products only, staff see all. Paginated, "
        "filtered by `category_id`, `min_price`, `max_price`, `tag`, `is_active`, sorted by `sort`.",
    ),
    "api_products_search_list": (
        "Search products",
        "Anyone. `q` matches name, description and tags, case-insensitively; the same filters, "
        "sort and pagination as the list.",
    ),
    "api_products_category_list": (
        "List a category's products",
        "Anyone. `{category}` is a category slug or id; products of its sub-categories are included; "
        "404 for an unknown category.",
    ),
    "api_products_create": (
        "Create a product",
        "Staff only. `name` and `price` required; `initial_stock` (default 0) creates its inventory row; "
        "a taken `sku` is a 409; an unknown `category_id` a 400.",
    ),
    "api_products_retrieve": ("Get a product", "Anyone; an inactive product is a 404 except for staff."),
    "api_products_update": ("Update a product", "Staff only. Only the fields sent change."),
    "api_products_partial_update": ("Update a product (PATCH)", "The same as PUT: only the fields sent change."),
    "api_products_destroy": (
        "Delete a product",
        "Staff only. Removes its inventory row, reviews and wishlist entries; orders keep their snapshot.",
    ),
    "api_inventory_list": ("List stock", "Staff only. Paginated stock rows, one per product."),
    "api_inventory_low_stock_list": (
        "List low stock",
        "Staff only. Rows with `quantity <= low_stock_threshold`, or `<= ?threshold=` when given.",
    ),
    "api_inventory_retrieve": ("Get a product's stock", "Staff only."),
    "api_inventory_update": (
        "Set a product's stock",
        "Staff only. Sets `quantity` (>= 0) and/or `low_stock_threshold`; 404 when the product is not in the catalog.",
    ),
    "api_inventory_partial_update": ("Set a product's stock (PATCH)", "The same as PUT."),
    "api_inventory_restock_create": (
        "Restock a product",
        "Staff only. Adds `quantity` (> 0) atomically and answers the updated row.",
    ),
    "api_cart_retrieve": (
        "Get a cart",
        "Owner or staff; another customer's cart answers 404. Prices are live from the catalog; lines "
        "of inactive products are hidden.",
    ),
    "api_cart_items_create": (
        "Add to a cart",
        "Owner or staff. The same product again adds to its quantity (at most 1000 in all); an unknown "
        "or inactive product is a 400. Answers 201 with the cart.",
    ),
    "api_cart_items_partial_update": ("Set a cart line's quantity", "Owner or staff. Answers the cart."),
    "api_cart_items_destroy": ("Remove a cart line", "Owner or staff."),
    "api_cart_clear_destroy": ("Empty a cart", "Owner or staff."),
    "api_orders_list": ("List orders", "Customers see their own, staff all; newest first; `?status=` filters."),
    "api_orders_create": (
        "Place an order",
        '`items` or `"from_cart": true` (which empties the cart on success), with a shipping address; '
        "staff may pass `user_id`. Stock is reserved for every line or for none (409 `out_of_stock` with "
        "`details.items`). With an `Idempotency-Key`, a repeat answers the first answer again, marked "
        "`Idempotent-Replayed: true`, and creates nothing; the same key with another body is a 409 "
        "`idempotency_conflict`.",
    ),
    "api_orders_retrieve": ("Get an order", "Owner or staff; another customer's order answers 404."),
    "api_orders_status_partial_update": (
        "Change an order's status",
        "Staff only. `pending -> paid | cancelled`, `paid -> shipped | cancelled`, `shipped -> delivered`; "
        "anything else is a 409 `invalid_transition`.",
    ),
    "api_orders_cancel_create": (
        "Cancel an order",
        "Owner or staff, from `pending` or `paid` only (else 409); the stock returns exactly once.",
    ),
    "api_analytics_sales_retrieve": (
        "Daily sales",
        "Staff only. One point per day of the range, days without sales as zeros; `?product_id=` narrows it.",
    ),
    "api_analytics_popular_products_retrieve": (
        "Best-selling products",
        "Staff only. Products by units sold in the range, `?limit=` of them.",
    ),
    "api_analytics_revenue_retrieve": (
        "Revenue",
        "Staff only. Gross, cancelled and net revenue, orders and average order value over the range.",
    ),
    "api_reviews_create": (
        "Write a review",
        "Customers and staff; one review per user and product (409); an unknown product is a 400. "
        "Keeps the product's `rating` current.",
    ),
    "api_reviews_product_list": ("List a product's reviews", "Anyone. Paginated; 404 for an unknown product."),
    "api_reviews_destroy": (
        "Delete a review",
        "The author or staff; another customer's review answers 404. Keeps the product's `rating` current.",
    ),
    "api_reviews_helpful_create": (
        "Vote a review helpful",
        "Counts once per user; a repeat changes nothing. Answers the review.",
    ),
    "api_wishlist_retrieve": ("Get a wishlist", "The owner or staff; another customer's wishlist answers 404."),
    "api_wishlist_items_create": (
        "Add to a wishlist",
        "The owner or staff. 201 when added, 200 when already there; an unknown product is a 400; at most 500 entries.",
    ),
    "api_wishlist_items_destroy": ("Remove from a wishlist", "The owner or staff; 404 when the product is not in it."),
    "health_retrieve": (
        "Health of the stores",
        "PostgreSQL, MySQL and MongoDB, each with its engine and latency; 503 when one is down.",
    ),
    "health_live_retrieve": ("Liveness", "The process answers; touches no database."),
}

_DESCRIPTIONS = {
    "400": "validation_error: malformed JSON, invalid fields or query parameters; details maps each field "
    "to its messages.",
    "401": "not_authenticated / authentication_failed.",
    "403": "permission_denied.",
    "404": "not_found: unknown id, malformed id, or another customer's object.",
    "409": "conflict.",
    "413": "payload_too_large: body over 1 MiB.",
    "415": "unsupported_media_type: send application/json.",
    "429": "rate_limited: wait the Retry-After seconds.",
    "503": "service_unavailable: a database is unreachable; details.database names it.",
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}
# Statuses the error handler answers with the envelope; their bodies get the typed schemas.
_ERROR_STATUS = re.compile(r"^[45]\d\d$")


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `validation_error`.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="Per-field messages, or context such as `database`.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


def error_response(description: str):
    """For views: `responses={409: error_response("conflict: ...")}`."""
    from drf_spectacular.utils import OpenApiResponse

    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        # Three kinds, each in a form generators act on (openapi-python-client 0.29.1 asks for
        # an AuthenticatedClient whenever an operation's own `security` is non-empty, whatever
        # alternatives it lists, `{}` first or last):
        # - a token is required: the operation lists jwtAuth;
        # - no token is needed (token, refresh, register, health): `security: []`;
        # - a token is optional (public reads; staff see more with one): no `security` of its
        #   own, so the document's root `[{jwtAuth: []}, {}]` applies. That is the truth for
        #   every reader of OpenAPI, and generators type the operation for a plain Client.
        auths = operation.get("security") or []
        if not any(auths):
            operation["security"] = []
        elif {} in auths:
            del operation["security"]
        return operation

    def get_summary(self) -> str | None:
        summary, _ = self._docstring_text()
        return summary

    def get_description(self) -> str:
        _, description = self._docstring_text()
        return description

    def _docstring_text(self) -> tuple[str | None, str]:
        """(summary, description): a docstring of several lines gives both; a one-line docstring
        is the summary unless OPERATION_TEXT has the operation, then it is the description."""
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        doc = get_doc(action)
        if not doc and not isinstance(self.view, viewsets.ViewSetMixin) and self.view.__class__.__doc__:
            # An APIView or @api_view answers one operation per method: its own docstring (not a
            # base class's, such as simplejwt's) is that operation's.
            doc = inspect.cleandoc(self.view.__class__.__doc__)
        first, _, rest = doc.partition("\n")
        rest = rest.strip()
        table = OPERATION_TEXT.get(self.get_operation_id())
        if first and rest:
            return first.strip(), rest
        if table:
            return table[0], first.strip() or table[1]
        if first:
            return first.strip(), get_doc(self.view.__class__) or first.strip()
        return None, get_doc(self.view.__class__)

    def get_tags(self) -> list[str]:
        return [tag_for_path(self.path)]

    def get_serializer_name(self, serializer, direction) -> str:
        name = super().get_serializer_name(serializer, direction)
        # COMPONENT_SPLIT_REQUEST appends "Request" to request components: TokenRequestSerializer
        # would become TokenRequestRequest.
        if direction == "request" and name.endswith("RequestSerializer"):
            return name[: -len("RequestSerializer")] + "Serializer"
        return name

    def _get_request_for_media_type(self, serializer, direction="request"):
        # drf-spectacular makes every PATCH body partial, as DRF's partial_update is. A PATCH
        # action of its own (an order's status, a cart line's quantity) validates its body
        # whole: documenting its fields as optional would let clients send what is refused.
        if self.method != "PATCH" or getattr(self.view, "action", None) == "partial_update":
            return super()._get_request_for_media_type(serializer, direction)
        self.method = "POST"
        try:
            return super()._get_request_for_media_type(serializer, direction)
        finally:
            self.method = "PATCH"

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if isinstance(field, serializers.DecimalField) and field.decimal_places == 2:
            schema = money_schema(field, direction)
            # A parent without active variants answers a null price.
            return {**schema, "nullable": True} if field.allow_null else schema
        return super()._map_serializer_field(field, direction, bypass_extensions)

    def _error_statuses(self) -> list[str]:
        view = self.view
        statuses = ["503"]
        if view.authentication_classes:
            statuses.append("401")  # a bad bearer token is refused even on public routes
        if self._may_forbid():
            statuses.append("403")
        if "{" in self.path:
            statuses.append("404")
        if self.method in _BODY_METHODS:
            statuses.append("413")
            if self.get_request_serializer() is not None:
                statuses += ["400", "415"]  # a body-less action never parses one
        elif self.method == "GET" and (self._is_list_view() or self.get_filter_backends() or self._query_params()):
            statuses.append("400")
        if view.throttle_classes or getattr(view, "get_throttles", None) and view.get_throttles():
            statuses.append("429")
        return statuses

    def _may_forbid(self) -> bool:
        """Whether a permission beyond "signed in" guards this operation."""
        lenient = (AllowAny, permissions.IsAuthenticated)
        for permission in self.view.get_permissions():
            if isinstance(permission, lenient):
                continue
            if isinstance(permission, IsStaffOrReadOnly) and self.method == "GET":
                continue
            return True
        return False

    def get_auth(self):
        """Public reads say so: catalog reads need no token (IsStaffOrReadOnly lets anyone GET)."""
        auths = super().get_auth()
        public_read = self.method == "GET" and any(
            isinstance(permission, IsStaffOrReadOnly) for permission in self.view.get_permissions()
        )
        if public_read and {} not in auths:
            auths.append({})
        return auths

    def _query_params(self) -> bool:
        return any(p.get("in") == "query" for p in self._get_parameters())

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self.path.startswith("/api/") or self.path.startswith(("/api/schema", "/api/docs")):
            return responses
        for status in self._error_statuses():
            if status not in responses:
                responses[status] = {
                    **self._get_response_for_code(ErrorSerializer, status, direction=direction),
                    "description": _DESCRIPTIONS[status],
                }
        # 414 (gunicorn's limit_request_line) is documented once, in the info description: the
        # HTTP server answers it with HTML before the API runs, on any path.
        return responses


def tag_for_path(path: str) -> str:
    """The domain of a path: its first segment under /api/, unless a nested resource belongs
    to another domain (/api/orders/{id}/payments is payments); /health and the like are health."""
    if not path.startswith("/api/"):
        return "health"
    segments = [part for part in path[len("/api/") :].split("/") if part and not part.startswith("{")]
    for segment in segments[1:]:
        if segment in _NESTED_DOMAINS and not (segments[0] == "payments" and segment == "webhooks"):
            return _NESTED_DOMAINS[segment]
    first = segments[0] if segments else "api"
    return _PREFIX_DOMAINS.get(first, first)


def money_schema(field: serializers.DecimalField, direction: str) -> dict:
    """An amount with two decimal places. Answers are always a non-negative decimal string with
    exactly two places (DRF quantizes them); inputs are read by DRF's DecimalField, which takes
    such a string (fewer places too) or a JSON number, within the field's bounds."""
    whole = field.max_digits - field.decimal_places if field.max_digits else 18
    example = "4.50" if field.field_name == "average" else "19.99"
    if direction == "response" or field.read_only:
        return {
            "type": "string",
            "format": "decimal",
            "pattern": rf"^\d{{1,{whole}}}\.\d{{2}}$",
            "example": example,
            "description": "A non-negative decimal string with exactly two places.",
        }
    bounds = []
    if field.min_value is not None:
        bounds.append(f"at least {field.min_value}")
    if field.max_value is not None:
        bounds.append(f"at most {field.max_value}")
    return {
        "type": "string",
        "format": "decimal",
        "pattern": rf"^\d{{1,{whole}}}(\.\d{{1,2}})?$",
        "example": example,
        "description": "A decimal string with at most two places"
        + (f", {' and '.join(bounds)}" if bounds else "")
        + ' (e.g. "19.99" or "20"); a JSON number is read the same way.',
    }


# --- The postprocessing hook: what needs the whole document ------------------------------

_HEADERS = {
    "X-Request-ID": {
        "description": "The request's id: echoed from the request's X-Request-ID when given (and sane), "
        "else generated. Every log line of the request carries it.",
        "schema": {"type": "string", "maxLength": 128, "example": "3f2c1c9e6d0a4f7e9b8a7c6d5e4f3a2b"},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1, "example": 30},
    },
    "Idempotent-Replayed": {
        "description": "`true` when this answer is the replay of an earlier request with the same "
        "Idempotency-Key (nothing new was created); absent otherwise.",
        "schema": {"type": "string", "enum": ["true"]},
    },
}

_FIELD_MESSAGES = {
    "description": "A field's messages; a nested object's fields map to theirs; a list's items (or their "
    "indexes) to theirs.",
    "anyOf": [
        {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "object", "additionalProperties": {}}]}},
        {"type": "object", "additionalProperties": {}},
    ],
}


def _envelope(detail: str, description: str, **extra) -> dict:
    """An error answer: `{"error": <detail>}`."""
    return {
        **extra,
        "type": "object",
        "description": description,
        "properties": {"error": {"$ref": f"#/components/schemas/{detail}"}},
        "required": ["error"],
    }


def _error_detail(*, code: dict, message: dict, details: str) -> dict:
    """An error's code, message and details (the schema named `details`)."""
    return {
        "type": "object",
        "properties": {"code": code, "message": message, "details": {"$ref": f"#/components/schemas/{details}"}},
        "required": ["code", "details", "message"],
    }


_ERROR_COMPONENTS = {
    # The title names the generated class: openapi-python-client's `Error.from_dict` would
    # bind its instance to a local named `error`, shadowing the `error` field (mypy fails).
    "Error": _envelope("ErrorDetail", "The envelope of every error.", title="ErrorResponse"),
    "ErrorDetail": _error_detail(
        code={
            "type": "string",
            "description": "Stable and machine-readable: validation_error, not_authenticated, "
            "authentication_failed, permission_denied, not_found, method_not_allowed, conflict, "
            "out_of_stock, invalid_transition, idempotency_conflict, payload_too_large, "
            "unsupported_media_type, rate_limited, service_unavailable, internal_error, and those "
            "an operation's responses name.",
            "example": "not_found",
        },
        message={"type": "string", "description": "For people; may change.", "example": "Not found."},
        details="ErrorDetails",
    ),
    "ErrorDetails": {
        "type": "object",
        "description": "Context of the error, `{}` when there is none. A 503 names the failing store in "
        "`database`; 400 and out_of_stock answers have their own schemas (ValidationError, OutOfStockError).",
        "properties": {
            "database": {
                "type": "string",
                "enum": ["postgres", "mysql", "mongodb"],
                "description": "503 service_unavailable only: the store that did not answer.",
            }
        },
        "additionalProperties": {},
    },
    "ValidationError": _envelope("ValidationErrorDetail", "A 400: malformed JSON, invalid fields or query parameters."),
    "ValidationErrorDetail": _error_detail(
        code={"type": "string", "enum": ["validation_error"]},
        message={"type": "string", "example": "The request is not valid."},
        details="FieldErrors",
    ),
    "FieldErrors": {
        "type": "object",
        "description": "Each invalid field (or query parameter, or header such as Idempotency-Key) mapped to "
        "its messages; `non_field_errors` for the body as a whole; `{}` for malformed JSON.",
        "additionalProperties": _FIELD_MESSAGES,
        "example": {"price": ["Must be greater than 0."]},
    },
    "OutOfStockError": _envelope(
        "OutOfStockErrorDetail", "A 409 out_of_stock: no line was reserved; `details.items` says what is missing."
    ),
    "OutOfStockErrorDetail": _error_detail(
        code={"type": "string", "enum": ["out_of_stock"]},
        message={"type": "string", "example": "Not enough stock for some items."},
        details="OutOfStockDetails",
    ),
    "OutOfStockDetails": {
        "type": "object",
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/OutOfStockItem"}}},
        "required": ["items"],
    },
    "OutOfStockItem": {
        "type": "object",
        "properties": {
            "product_id": {**OBJECT_ID_SCHEMA, "description": "The product short of stock."},
            "requested": {"type": "integer", "minimum": 1, "example": 3},
            "available": {"type": "integer", "minimum": 0, "example": 1},
        },
        "required": ["available", "product_id", "requested"],
    },
}

INFO_DESCRIPTION = """\
Users, catalog, cart, orders, inventory, analytics, reviews and wishlists over PostgreSQL, MySQL
and MongoDB.

**Schema.** This document is at `/api/schema` (YAML; JSON with `?format=json` or
`Accept: application/json`), `/api/schema.json` and `/api/schema.yaml`; browsable at `/api/docs`.

**Authentication.** `POST /api/auth/token` answers an access and a refresh JWT; send
`Authorization: Bearer <access>`. Operations that list `jwtAuth` need a token; the catalog's
reads (products, categories, a product's reviews) need none but accept one (staff see
inactive products); token, refresh, registration and health declare `security: []`.

**Conventions.** JSON in and out. Money is a decimal string with exactly two places
(`"19.99"`) in answers, with the store's `currency`. Lists are paginated with `?limit=`
(default 20, max 100) and `?offset=`. Every response carries `X-Request-ID`.

**Errors.** Every error the API answers is `{"error": {"code", "message", "details"}}` (the
`Error` schema; `ValidationError` and `OutOfStockError` type the details of 400 and
out_of_stock). One answer comes from the HTTP server instead, on any path: a request line
(path and query string) over 4094 bytes is refused with `414` and a short HTML page before the
API sees it."""


def postprocess(result: dict, generator, request, public) -> dict:
    """POSTPROCESSING_HOOKS: root security, typed errors, headers, enum names."""
    result["security"] = [{"jwtAuth": []}, {}]
    result["tags"] = TAGS
    result["info"]["description"] = INFO_DESCRIPTION
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(_ERROR_COMPONENTS)
    _add_request_examples(components["schemas"])
    components["headers"] = _HEADERS
    for path, item in result.get("paths", {}).items():
        for operation in item.values():
            _type_responses(path, operation)
            _type_object_id_path_parameters(operation)
    _name_enum_members(result)
    return result


# Examples for request bodies, so Swagger UI prefills a body the API would take (its own
# samples are "string", 0 or a bound such as 1000). By property name; a (component prefix,
# property) key wins. A property that has an example keeps it.
_REQUEST_EXAMPLES = {
    "quantity": 2,
    "rating": 5,
    "title": "Warm, even light",
    "body": "Bright enough to read by, and the wool shade stays cool.",
    "email": "nora@example.com",
    "password": "Lamp-Light-2026!",
    "current_password": "Lamp-Light-2026!",
    "first_name": "Nora",
    "last_name": "Night",
    "phone": "+44 117 496 0000",
    "line1": "12 Harbour Road",
    "line2": "Flat 3",
    "city": "Bristol",
    "postal_code": "BS1 4RB",
    "country": "GB",
    "initial_stock": 25,
    "low_stock_threshold": 10,
    "sku": "LAMP-WOOL-01",
    "tags": ["lighting", "wool"],
    "slug": "lighting",
    "reason": "Arrived damaged",
    ("ShippingAddress", "name"): "Nora Night",
    ("Product", "name"): "Rustic Wool Lamp",
    ("Product", "description"): "A reading lamp with a felted wool shade.",
    ("Variant", "name"): "Rustic Wool Lamp, large",
    ("Category", "name"): "Lighting",
    ("Category", "description"): "Lamps, lanterns and bulbs.",
}
_EXAMPLE_TYPES = {int: "integer", str: "string", list: "array"}


def _add_request_examples(schemas: dict) -> None:
    for name, component in schemas.items():
        if not name.endswith("Request"):
            continue
        base = name.removeprefix("Patched")
        for field, prop in component.get("properties", {}).items():
            if "example" in prop:
                continue
            keyed = [v for (prefix, f), v in _keyed_examples() if f == field and base.startswith(prefix)]
            example = keyed[0] if keyed else _REQUEST_EXAMPLES.get(field)
            if example is not None and prop.get("type") == _EXAMPLE_TYPES[type(example)]:
                prop["example"] = example


def _keyed_examples():
    return [(key, value) for key, value in _REQUEST_EXAMPLES.items() if isinstance(key, tuple)]


# The domains whose ids are MongoDB ObjectIds (inventory names products by theirs).
_OBJECT_ID_DOMAINS = {"products", "categories", "reviews", "wishlist", "inventory"}


def _type_object_id_path_parameters(operation: dict) -> None:
    """A product, category or review id in a path is 24 hex digits (anything else is a 404):
    say so where a view declared it as a bare string or any segment."""
    if not set(operation.get("tags", [])) & _OBJECT_ID_DOMAINS:
        return
    for parameter in operation.get("parameters", []):
        schema = parameter.get("schema", {})
        named_id = parameter["name"] == "id" or parameter["name"].endswith("_id")
        if (
            parameter.get("in") == "path"
            and named_id
            and schema.get("type") == "string"
            and schema.get("pattern", "^[^/]+$") == "^[^/]+$"
        ):
            parameter["schema"] = {**schema, **OBJECT_ID_SCHEMA}


def _header_ref(name: str) -> dict:
    return {"$ref": f"#/components/headers/{name}"}


def _type_responses(path: str, operation: dict) -> None:
    idempotent = any(
        p.get("in") == "header" and p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])
    )
    for status, response in operation.get("responses", {}).items():
        headers = response.setdefault("headers", {})
        headers["X-Request-ID"] = _header_ref("X-Request-ID")
        if status == "429":
            headers["Retry-After"] = _header_ref("Retry-After")
        if idempotent and status.startswith("2"):
            headers["Idempotent-Replayed"] = _header_ref("Idempotent-Replayed")
        if not path.startswith("/api/") or not _ERROR_STATUS.match(status):
            continue
        body = response.get("content", {}).get("application/json")
        if not body or body.get("schema") != {"$ref": ERROR_REF}:
            continue
        if status == "400":
            body["schema"] = {"$ref": VALIDATION_ERROR_REF}
        elif status == "409" and "out_of_stock" in response.get("description", ""):
            body["schema"] = {"anyOf": [{"$ref": OUT_OF_STOCK_ERROR_REF}, {"$ref": ERROR_REF}]}


_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _enum_member_name(value) -> str:
    text = str(value)
    descending = text.startswith("-")
    name = re.sub(r"[^A-Za-z0-9]+", "_", text.lstrip("-")).strip("_").upper() or "EMPTY"
    if name[0].isdigit():
        name = f"VALUE_{name}"
    return f"{name}_DESC" if descending else name


def _name_enum_members(node) -> None:
    """`x-enum-varnames` where a value is no identifier: `-price` becomes PRICE_DESC, not VALUE_1."""
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and any(isinstance(v, str) and not _IDENTIFIER.match(v) for v in values):
            names = [_enum_member_name(v) for v in values if v is not None]
            if len(set(names)) == len(names):
                node["x-enum-varnames"] = names
        for child in node.values():
            _name_enum_members(child)
    elif isinstance(node, list):
        for child in node:
            _name_enum_members(child)
