"""Request ids (echoed or made, on every response and every log line), chunked bodies made
readable, and the body cap."""

import io
import json
import logging
import re
import uuid
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpResponse

from ecommerce.api.exceptions import error_body

_request_id: ContextVar[str] = ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdLogFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def json_error(status: int, code: str, message: str, details: dict | None = None) -> HttpResponse:
    return HttpResponse(json.dumps(error_body(code, message, details)), status=status, content_type="application/json")


class RequestIdMiddleware:
    """Echo a sane X-Request-ID or make one, and carry it into the logs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        given = request.headers.get("X-Request-ID", "")
        request_id = given if _VALID_ID.fullmatch(given) else uuid.uuid4().hex
        request.request_id = request_id
        token = _request_id.set(request_id)
        try:
            response = self.get_response(request)
        finally:
            _request_id.reset(token)
        response["X-Request-ID"] = request_id
        return response


class BodySizeLimitMiddleware:
    """Refuse bodies over MAX_BODY_BYTES with 413 before anything reads them."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error(400, "validation_error", "Content-Length is not a number.")
        if length > settings.MAX_BODY_BYTES:
            return json_error(413, "payload_too_large", f"The request body is over {settings.MAX_BODY_BYTES} bytes.")
        return self.get_response(request)


class ChunkedBodyReader:
    """WSGI middleware: a chunked request body (no Content-Length) is read here, at most one
    byte past MAX_BODY_BYTES, and handed on with its length. Django reads a body without
    Content-Length as empty (a chunked order or registration would be a misleading 400), and
    the length lets BodySizeLimitMiddleware refuse an oversized one with 413 like any other."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() and not environ.get("CONTENT_LENGTH"):
            from django.conf import settings

            body = environ["wsgi.input"].read(settings.MAX_BODY_BYTES + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
            del environ["HTTP_TRANSFER_ENCODING"]
        return self.application(environ, start_response)
