"""Money as the API answers it: a decimal string with two places (no DRF here: services and
stored replays render money too)."""

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def money_text(amount: Decimal) -> str:
    """`amount` rounded half up to the cent, as text: Decimal("5.5") -> "5.50"."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))
