"""Bearer-token authentication for every API request."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework_simplejwt.authentication import JWTAuthentication

from users.tokens import token_user


class VersionedJWTAuthentication(JWTAuthentication):
    """simplejwt's authentication, with the user looked up by a checked integer id and the
    token refused once its version is stale (users.tokens)."""

    def get_user(self, validated_token):
        return token_user(validated_token)


class VersionedJWTScheme(SimpleJWTScheme):
    """The same bearer scheme in the OpenAPI schema as simplejwt's own."""

    target_class = "users.authentication.VersionedJWTAuthentication"
