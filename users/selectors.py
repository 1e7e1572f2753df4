"""Reads on users."""

from django.db import router
from django.db.models import Q, QuerySet

from ecommerce.api.exceptions import NotFoundError
from ecommerce.api.roles import ensure_owner_or_staff
from ecommerce.stores import sql
from users.models import User


def user_list(*, search: str | None = None) -> QuerySet[User]:
    users = User.objects.order_by("id")
    if search:
        users = users.filter(
            Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
        )
    return users


def user_find(*, user_id: int) -> User | None:
    """The user `user_id`, or None. Every authenticated request loads its user this way: one
    SELECT made once, not a query built each time (ecommerce.stores.sql.find)."""
    return sql.find(User, user_id, using=router.db_for_read(User))


def user_get_for(*, actor: User, user_id: int) -> User:
    """The user `user_id` as `actor` may see it: self or staff, else 404."""
    ensure_owner_or_staff(actor, user_id, "User")
    if actor.pk == user_id:
        return actor  # loaded by the authentication of this very request
    try:
        return User.objects.get(pk=user_id)
    except User.DoesNotExist:
        raise NotFoundError("User not found.") from None
