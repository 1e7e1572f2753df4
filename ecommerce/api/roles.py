"""The contract's roles (anonymous, customer, staff) as plain checks, for services and
selectors; ecommerce.api.permissions wraps them for DRF views."""

from ecommerce.api.exceptions import NotFoundError


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


def ensure_owner_or_staff(user, owner_id: int | None, what: str = "Object") -> None:
    """Another customer's object answers 404, as if it did not exist."""
    if is_staff(user):
        return
    if owner_id is None or user.pk != owner_id:
        raise NotFoundError(f"{what} not found.")
