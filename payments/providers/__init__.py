"""The providers configured here, by name (`test`, `stripe`)."""

from functools import cache

from django.conf import settings

from payments.providers.base import PaymentProvider


@cache
def _simulated(secret: str):
    from payments.providers.simulated import SimulatedProvider

    return SimulatedProvider(secret=secret)


@cache
def _stripe(secret_key: str, webhook_secret: str, api_base: str | None):
    from payments.providers.stripe_provider import StripeProvider

    return StripeProvider(secret_key=secret_key, webhook_secret=webhook_secret, api_base=api_base)


def enabled() -> list[str]:
    names = []
    if settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET:
        names.append("stripe")
    if settings.PAYMENTS_TEST_PROVIDER:
        names.append("test")
    return names


def default() -> str | None:
    """Stripe when configured, else the test provider when on."""
    names = enabled()
    return names[0] if names else None


def get(name: str) -> PaymentProvider | None:
    """The provider called `name`, or None when it is not configured (read at each call, so
    settings changed at run time, as the tests do, take effect)."""
    if name not in enabled():
        return None
    if name == "stripe":
        return _stripe(settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET, settings.STRIPE_API_BASE)
    return _simulated(settings.PAYMENTS_WEBHOOK_SECRET)
