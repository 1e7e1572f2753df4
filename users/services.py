"""Writes on users."""

from collections.abc import Callable

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction

from ecommerce.api.roles import is_staff
from users.exceptions import CurrentPasswordRequired, EmailTaken, StaffOnlyChange, SuperuserAccount, WeakPassword
from users.models import User, normalize_email

_user_deleted_hooks: list[Callable[[int], None]] = []

# What PUT and PATCH may change, copied as given (email and password are transformed).
_PROFILE_FIELDS = ("first_name", "last_name", "phone", "is_staff")


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
        raise WeakPassword(exc.messages) from None


def _save(user: User, update_fields: list[str] | None = None) -> None:
    try:
        with transaction.atomic():
            user.save(update_fields=update_fields)
    except IntegrityError:
        raise EmailTaken() from None


def user_create(*, email: str, password: str, first_name: str = "", last_name: str = "", phone: str = "") -> User:
    """Register a customer. 409 when the email is taken (also when two registrations race)."""
    user = User(email=normalize_email(email), first_name=first_name, last_name=last_name, phone=phone)
    _check_password(password, user)
    user.set_password(password)
    _save(user)
    return user


def _ensure_may_manage(*, actor: User, user: User) -> None:
    """A superuser's account is changed or deleted by a superuser only (plain staff could
    otherwise take over or remove the accounts above theirs)."""
    if user.is_superuser and not actor.is_superuser:
        raise SuperuserAccount()


def _ensure_may_update(*, actor: User, user: User, data: dict) -> None:
    if "is_staff" in data and data["is_staff"] != user.is_staff and not is_staff(actor):
        raise StaffOnlyChange()
    _ensure_may_manage(actor=actor, user=user)


def _reauthenticate(*, actor: User, user: User, data: dict) -> None:
    """One's own email or password changes only with the current password: a stolen access
    token must not become a stolen account. Staff changing someone else's need not know it."""
    if actor.pk == user.pk and {"email", "password"} & data.keys():
        if not user.check_password(data.get("current_password") or ""):
            raise CurrentPasswordRequired()


def _apply_changes(*, user: User, data: dict) -> list[str]:
    """Copy `data` onto `user`; answer the columns that changed. A new password is validated,
    hashed, and ends every token issued before it (users.tokens)."""
    changed = [field for field in _PROFILE_FIELDS if field in data]
    for field in changed:
        setattr(user, field, data[field])
    if "email" in data:
        user.email = normalize_email(data["email"])
        changed.append("email")
    if "password" in data:
        _check_password(data["password"], user)
        user.set_password(data["password"])  # moves token_version on
        changed += ["password", "token_version"]
    return changed


def user_update(*, user: User, actor: User, data: dict) -> User:
    """Change the fields in `data` (PUT and PATCH alike): `is_staff` by staff only; a
    superuser's account by a superuser only; one's own email or password only with
    `current_password`; a password change signs the user out everywhere."""
    _ensure_may_update(actor=actor, user=user, data=data)
    _reauthenticate(actor=actor, user=user, data=data)
    changed = _apply_changes(user=user, data=data)
    # Only what changed: a concurrent staff change to other fields stays.
    _save(user, update_fields=changed)
    return user


def user_set_active(*, user: User, is_active: bool) -> User:
    """Activate or deactivate an account (the admin). Deactivating ends every token the user
    holds, for good: reactivating later does not bring them back."""
    user.is_active = is_active
    changed = ["is_active"]
    if not is_active:
        user.token_version += 1
        changed.append("token_version")
    _save(user, update_fields=changed)
    return user


def user_delete(*, actor: User, user: User) -> None:
    """Delete the account (self, staff; a superuser's only by a superuser). Orders stay
    (their user_id becomes null; the email snapshot stays); the cart goes with the user;
    the user's tokens die with the row; the on_user_deleted hooks run afterwards, outside
    the PostgreSQL transaction (a MongoDB failure then leaves only entries nobody can reach)."""
    _ensure_may_manage(actor=actor, user=user)
    user_id = user.pk
    with transaction.atomic():
        user.delete()
    for hook in _user_deleted_hooks:
        hook(user_id)
