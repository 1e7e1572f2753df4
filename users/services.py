"""Writes on users."""

from collections.abc import Callable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework.exceptions import PermissionDenied

from ecommerce.api.exceptions import ConflictError, ValidationFailed
from ecommerce.api.permissions import is_staff
from users.models import User, normalize_email

_EMAIL_TAKEN = "A user with this email already exists."

_user_deleted_hooks: list[Callable[[int], None]] = []


def on_user_deleted(hook: Callable[[int], None]) -> Callable[[int], None]:
    """Register `hook(user_id)` to run after a user row is deleted, outside its transaction
    (apps above users, e.g. reviews' wishlists, clean up what they keep under the id).
    Hooks must be idempotent: a failure leaves their data to be removed again."""
    if hook not in _user_deleted_hooks:
        _user_deleted_hooks.append(hook)
    return hook


def _check_password(password: str, user: User) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed("The password is too weak.", details={"password": exc.messages}) from None


def user_create(*, email: str, password: str, first_name: str = "", last_name: str = "", phone: str = "") -> User:
    """Register a customer. 409 when the email is taken (also when two registrations race)."""
    user = User(email=normalize_email(email), first_name=first_name, last_name=last_name, phone=phone)
    _check_password(password, user)
    user.set_password(password)
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError:
        raise ConflictError(_EMAIL_TAKEN, details={"email": [_EMAIL_TAKEN]}) from None
    return user


_UPDATABLE = ("first_name", "last_name", "phone", "is_staff", "email", "password")


def user_update(*, user: User, actor: User, data: dict) -> User:
    """Change the fields in `data`; `is_staff` by staff only; a superuser's account by a
    superuser only; one's own email or password only with `current_password`; a new
    password is validated and re-hashed."""
    if "is_staff" in data and data["is_staff"] != user.is_staff and not is_staff(actor):
        raise PermissionDenied("Only staff may change is_staff.")
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied("Only a superuser may change a superuser's account.")
    changed = [
        field for field in ("first_name", "last_name", "phone", "is_staff", "email", "password") if field in data
    ]
    if actor.pk == user.pk and {"email", "password"} & set(changed):
        # A stolen access token must not become a stolen account.
        if not user.check_password(data.get("current_password") or ""):
            raise ValidationFailed(
                "Changing your email or password needs your current password.",
                details={"current_password": ["Wrong or missing."]},
            )
    for field in ("first_name", "last_name", "phone", "is_staff"):
        if field in data:
            setattr(user, field, data[field])
    if "email" in data:
        user.email = normalize_email(data["email"])
    if "password" in data:
        _check_password(data["password"], user)
        user.set_password(data["password"])
    try:
        with transaction.atomic():
            # Only what changed: a concurrent staff change to other fields stays.
            user.save(update_fields=changed)
    except IntegrityError:
        raise ConflictError(_EMAIL_TAKEN, details={"email": [_EMAIL_TAKEN]}) from None
    return user


def user_delete(*, user: User) -> None:
    """Delete the account. Orders stay (their user_id becomes null; the email snapshot stays);
    the cart goes with the user; the on_user_deleted hooks run afterwards, outside the
    PostgreSQL transaction (a MongoDB failure then leaves only entries nobody can reach)."""
    user_id = user.pk
    with transaction.atomic():
        user.delete()
    for hook in _user_deleted_hooks:
        hook(user_id)
