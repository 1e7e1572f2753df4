"""Webhook secrets at rest: encrypted with Fernet (AES-128-CBC + HMAC-SHA256) under keys
from the environment, so a database dump alone does not hand them out.

WEBHOOK_SECRETS_KEY is a comma-separated list of Fernet keys: the first encrypts, all
decrypt: put a new key in front and keep the old one listed until every webhook has
rotated its secret (a rotation encrypts under the first key). Without it, a key is
derived from SECRET_KEY: still out of the database, but changing SECRET_KEY then makes the
stored secrets unreadable, hence the setting in production.
"""

import base64
import hashlib
import secrets
from functools import cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

SECRET_PREFIX = "whsec_"  # noqa: S105  # the Standard Webhooks prefix, not a secret


@cache
def _fernet() -> MultiFernet:
    keys = list(settings.WEBHOOK_SECRETS_KEYS)
    if not keys:
        derived = hashlib.sha256(b"ecommerce.events.webhook-secrets:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(derived).decode()]
    try:
        return MultiFernet([Fernet(key) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "WEBHOOK_SECRETS_KEY must hold Fernet keys (32 url-safe base64-encoded bytes), comma-separated: "
            "python3 -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from exc


def secret_generate() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def secret_encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def secret_decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ImproperlyConfigured(
            "A webhook secret cannot be decrypted: WEBHOOK_SECRETS_KEY (or SECRET_KEY) changed "
            "without keeping the old key listed."
        ) from None
