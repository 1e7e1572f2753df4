"""Roles of the contract: anonymous, customer, staff. Reused by every app."""

from rest_framework import permissions

from ecommerce.api.exceptions import NotFoundError


def is_staff(user) -> bool:
    return bool(user and user.is_authenticated and user.is_staff)


class IsStaff(permissions.BasePermission):
    message = "Staff only."

    def has_permission(self, request, view):
        return is_staff(request.user)


class IsStaffOrReadOnly(permissions.BasePermission):
    """Catalog style: anyone reads, staff write."""

    message = "Staff only."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_staff(request.user)


def ensure_owner_or_staff(user, owner_id: int | None, what: str = "Object") -> None:
    """Another customer's object answers 404, as if it did not exist."""
    if is_staff(user):
        return
    if owner_id is None or user.pk != owner_id:
        raise NotFoundError(f"{what} not found.")
