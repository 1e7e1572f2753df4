from django.contrib.auth import hashers
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def normalize_email(email: str) -> str:
    """Emails are stored lower-cased, so one address is one account."""
    return email.strip().lower()


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email=normalize_email(username))

    def create_user(self, email: str, password: str | None = None, **fields):
        user = self.model(email=normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields):
        fields.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A customer, or staff when `is_staff`. Logs in with the email."""

    email = models.EmailField(max_length=254, unique=True)
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)
    # Every JWT carries the version it was issued under (users.tokens); a token of another
    # version is refused. A new password (set_password) or a deactivation
    # (users.services.user_set_active) moves it on, which ends every token issued before.
    token_version = models.PositiveIntegerField(default=0)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(Lower("first_name"), Lower("last_name"), name="user_name_lower_idx")]

    def __str__(self) -> str:
        return self.email

    def set_password(self, raw_password: str | None) -> None:
        """A new password ends every token issued before it, whichever way it is set (the API,
        the admin's forms, `manage.py changepassword`); the version is saved with the password."""
        super().set_password(raw_password)
        if self.pk is not None:
            self.token_version += 1

    def check_password(self, raw_password: str) -> bool:
        """Django's check; a hash upgraded on the way (new hasher parameters) is the same
        password, so it keeps the tokens."""

        def upgrade(raw: str) -> None:
            AbstractBaseUser.set_password(self, raw)
            self._password = None
            self.save(update_fields=["password"])

        return hashers.check_password(raw_password, self.password, upgrade)
