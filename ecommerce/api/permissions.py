"""Roles of the contract for DRF views: anonymous, customer, staff. Services and selectors use
the plain checks of ecommerce.api.roles (re-exported here for views)."""

from rest_framework import permissions

from ecommerce.api.roles import ensure_owner_or_staff, is_staff

__all__ = ["IsStaff", "IsStaffOrReadOnly", "ensure_owner_or_staff", "is_staff"]


class IsStaff(permissions.BasePermission):
    message = "Staff only."

    def has_permission(self, request, view):
        return is_staff(request.user)


class IsStaffOrReadOnly(permissions.BasePermission):
    """Catalog style: anyone reads, staff write."""

    message = "Staff only."

    def has_permission(self, request, view):
        return request.method in permissions.SAFE_METHODS or is_staff(request.user)
