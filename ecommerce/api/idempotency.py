"""The `Idempotency-Key` every write that takes one shares: the header as views read and
document it, the hash that tells a repeat from a different request, and the answers of a
repeat (the services of orders and payments keep the keys, each in their own table)."""

import hashlib
import json

from django.conf import settings
from django.db import models
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter

from ecommerce.api.exceptions import ApplicationError, ConflictError, ValidationFailed

MAX_IDEMPOTENCY_KEY = 255


class IdempotencyRecord(models.Model):
    """What an app keeps of a key a user sent: the request's hash and, once answered, the
    status to answer its repeats with (each app adds where the answer is, and its own table)."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=MAX_IDEMPOTENCY_KEY)
    request_hash = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return f"{self.user_id}: {self.key} ({self.status})"


def idempotency_key_parameter(replays: str) -> OpenApiParameter:
    """The header in the OpenAPI schema; `replays` says what a repeat of the request answers."""
    return OpenApiParameter(
        "Idempotency-Key",
        {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY, "pattern": "^[ -~]*[!-~][ -~]*$"},
        OpenApiParameter.HEADER,
        description=f"1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters (a UUID is a good choice). {replays}",
    )


def idempotency_key(request) -> str | None:
    """The request's key, None without one; anything but 1 to 255 printable ASCII characters
    (as the IETF draft's sf-string: no NUL, which PostgreSQL refuses) is a 400 naming it."""
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not all(" " <= c <= "~" for c in key):
        raise ValidationFailed(
            details={"Idempotency-Key": [f"Must be 1 to {MAX_IDEMPOTENCY_KEY} printable ASCII characters."]}
        )
    return key


def hash_of_request(**request) -> str:
    """A fingerprint of what was asked: the same key with another request is a conflict."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


class IdempotencyConflict(ConflictError):
    code = "idempotency_conflict"


class ReplayedError(ApplicationError):
    """The stored error answer of an earlier request with the same Idempotency-Key."""

    def __init__(self, status_code: int, body: dict):
        error = body.get("error", {})
        self.status_code = status_code
        self.code = error.get("code", "error")
        super().__init__(error.get("message"), details=error.get("details"))
