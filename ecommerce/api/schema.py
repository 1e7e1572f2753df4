"""OpenAPI: the error envelope as a component, and the error statuses each operation can answer.

Views declare their domain errors (409 conflicts and the like) with `extend_schema`;
this AutoSchema adds the statuses the shared machinery can produce for every operation
(bad input, auth, permissions, unknown ids, body cap, throttling, a store down), so the
schema tells the truth without each view repeating it.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import permissions, serializers
from rest_framework.permissions import AllowAny

from ecommerce.api.permissions import IsStaffOrReadOnly

OBJECT_ID_PATTERN = "^[0-9a-fA-F]{24}$"
OBJECT_ID_SCHEMA = {"type": "string", "pattern": OBJECT_ID_PATTERN, "example": "6b0da54becce2e8703ae3d6f"}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `validation_error`.")
    message = serializers.CharField()
    details = serializers.DictField(help_text="Per-field messages, or context such as `database`.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


_DESCRIPTIONS = {
    "400": "validation_error: malformed JSON, invalid fields or query parameters.",
    "401": "not_authenticated / authentication_failed.",
    "403": "permission_denied.",
    "404": "not_found: unknown id, malformed id, or another customer's object.",
    "409": "conflict.",
    "413": "payload_too_large: body over 1 MiB.",
    "414": "The request line (path and query string) is over 4094 bytes: the HTTP server refuses it "
    "before the API sees it, with a short HTML page rather than the JSON envelope.",
    "415": "unsupported_media_type: send application/json.",
    "429": "rate_limited; see Retry-After.",
    "503": "service_unavailable: a database is unreachable; details.database names it.",
}

_BODY_METHODS = {"POST", "PUT", "PATCH"}


def error_response(description: str):
    """For views: `responses={409: error_response("conflict: ...")}`."""
    from drf_spectacular.utils import OpenApiResponse

    return OpenApiResponse(ErrorSerializer, description=description)


class AutoSchema(SpectacularAutoSchema):
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
        if "414" not in responses:
            # gunicorn's limit_request_line; no JSON can be promised for it (see _DESCRIPTIONS).
            responses["414"] = {
                "content": {"text/html": {"schema": {"type": "string"}}},
                "description": _DESCRIPTIONS["414"],
            }
        return responses
