import re

from rest_framework import serializers
from rest_framework_simplejwt.serializers import PasswordField, TokenObtainPairSerializer, TokenRefreshSerializer

from users.models import User
from users.tokens import VersionedRefreshToken, token_user

PHONE = re.compile(r"\+?[0-9 ().-]{3,32}")


def _validate_phone(value: str) -> str:
    if value and not PHONE.fullmatch(value):
        raise serializers.ValidationError("Enter a valid phone number.")
    return value


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "phone", "is_staff", "date_joined"]
        read_only_fields = fields


_RULES_HELP = (
    "At least 8 characters, not all digits, not a common password and not too like the email or names "
    "(400 validation_error naming `password` otherwise)."
)


class UserCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True, trim_whitespace=False, help_text=_RULES_HELP)
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False, default="")
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False, default="")

    def validate_phone(self, value):
        return _validate_phone(value)


class UserListQuerySerializer(serializers.Serializer):
    search = serializers.CharField(max_length=254, required=False, help_text="Matches email and names.")


class UserUpdateSerializer(serializers.Serializer):
    """Every field optional: PUT and PATCH change only what is sent."""

    email = serializers.EmailField(max_length=254, required=False)
    password = serializers.CharField(
        max_length=128, write_only=True, required=False, trim_whitespace=False, help_text=_RULES_HELP
    )
    first_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    last_name = serializers.CharField(max_length=150, allow_blank=True, required=False)
    phone = serializers.CharField(max_length=32, allow_blank=True, required=False)
    is_staff = serializers.BooleanField(required=False)
    current_password = serializers.CharField(
        max_length=128,
        write_only=True,
        required=False,
        trim_whitespace=False,
        help_text="Required to change your own email or password (not when staff change someone else's).",
    )

    def validate_phone(self, value):
        return _validate_phone(value)


class TokenRequestSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, write_only=True)


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class ActiveTokenRefreshSerializer(TokenRefreshSerializer):
    """A new access token for a refresh token whose account still exists, is active and has
    not been signed out since (users.tokens); anything else is a 401. No rotation."""

    token_class = VersionedRefreshToken

    def validate(self, attrs):
        refresh = self.token_class(attrs["refresh"])
        token_user(refresh)
        return {"access": str(refresh.access_token)}


class BoundedTokenObtainSerializer(TokenObtainPairSerializer):
    """simplejwt's login, with the email and password bounded as at registration: an
    over-long one is a 400 naming the field, and is never hashed. Tokens carry the user's
    token version (users.tokens)."""

    token_class = VersionedRefreshToken

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[self.username_field] = serializers.CharField(max_length=254, write_only=True)
        self.fields["password"] = PasswordField(max_length=128)
