"""Application errors and the one handler that renders every error as the contract says:

{"error": {"code": "...", "message": "...", "details": {...}}}
"""

import logging

from django.core import exceptions as django_exceptions
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, connections
from django.http import Http404
from pymongo import errors as mongo_errors
from rest_framework import exceptions as drf
from rest_framework import status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

# The store behind each SQL alias, as /health and `details.database` name them.
STORE_NAMES = {"default": "postgres", "mysql": "mysql"}


class ApplicationError(Exception):
    """A domain error with a stable code; every app's errors subclass it."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "error"
    default_message = "The request could not be completed."

    def __init__(self, message: str | None = None, *, details: dict | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "validation_error"
    default_message = "The request is not valid."


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"
    default_message = "Not found."


class PermissionDeniedError(ApplicationError):
    """The caller may see the object but not do this to it (services raise it instead of DRF's)."""

    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"
    default_message = "You do not have permission to perform this action."


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"
    default_message = "The request conflicts with the current state."


class ServiceUnavailable(ApplicationError):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    code = "service_unavailable"

    def __init__(self, database: str):
        super().__init__(f"The {database} database is unavailable. Try again shortly.", details={"database": database})


def error_body(code: str, message: str, details: dict | None = None) -> dict:
    return {"error": {"code": code, "message": message, "details": details or {}}}


# DRF exception class -> (status, code); the first match wins, so subclasses first.
_DRF_CODES = [
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "rate_limited"),
    (drf.ParseError, "validation_error"),
    (drf.ValidationError, "validation_error"),
]

_VALIDATION_MESSAGE = "The request is not valid."


def _failing_sql_store() -> str:
    """Which SQL store just failed: Django flags the connection that raised."""
    for connection in connections.all(initialized_only=True):
        if connection.errors_occurred:
            return STORE_NAMES.get(connection.alias, connection.alias)
    return STORE_NAMES["default"]


def _drf_message(detail) -> str:
    if isinstance(detail, dict):
        # simplejwt puts {"detail": ..., "code": ..., "messages": [...]} here.
        detail = detail.get("detail", _VALIDATION_MESSAGE)
    if isinstance(detail, list):
        detail = detail[0] if detail else _VALIDATION_MESSAGE
    return str(detail)


def _drf_code(exc: drf.APIException) -> str:
    for cls, code in _DRF_CODES:
        if isinstance(exc, cls):
            return code
    return exc.default_code


def _render_drf(exc: drf.APIException) -> Response:
    code = _drf_code(exc)
    headers = {}
    if isinstance(exc, drf.ValidationError):
        details = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        body = error_body(code, _VALIDATION_MESSAGE, details)
    elif isinstance(exc, drf.ParseError):
        body = error_body(code, f"Malformed request body: {exc.detail}")
    else:
        body = error_body(code, _drf_message(exc.detail))
    if isinstance(exc, drf.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(1, int(exc.wait + 0.999)))
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    return Response(body, status=exc.status_code, headers=headers)


def to_response(exc: Exception) -> Response | None:
    """The contract's answer for an exception, or None for an unexpected one."""
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, exc.details), status=exc.status_code)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, django_exceptions.PermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, django_exceptions.ValidationError):
        exc = drf.ValidationError(getattr(exc, "message_dict", None) or {"non_field_errors": exc.messages})
    if isinstance(exc, drf.APIException):
        return _render_drf(exc)
    if isinstance(exc, mongo_errors.ConnectionFailure | mongo_errors.ExecutionTimeout):
        return to_response(ServiceUnavailable("mongodb"))
    if isinstance(exc, IntegrityError):
        return to_response(ConflictError())
    if isinstance(exc, OperationalError | InterfaceError):
        return to_response(ServiceUnavailable(_failing_sql_store()))
    return None


def exception_handler(exc: Exception, context: dict) -> Response:
    response = to_response(exc)
    if response is None:
        logger.exception("Unhandled error", exc_info=exc)
        response = Response(error_body("internal_error", "An unexpected error occurred."), status=500)
    elif response.status_code == 503 or isinstance(exc, DatabaseError):
        logger.warning("Store unavailable: %s", exc)
    return response
