"""JWTs that end with their account's current state.

Revocation is a per-user version (`User.token_version`) carried in every token as `ver`,
not simplejwt's blacklist: the request's authentication loads the user row by primary key
anyway, so comparing the version costs no extra query, and one bump ends every access AND
refresh token at once (a blacklist holds only refresh tokens, so a stolen access token would
live out its 15 minutes, and it needs a table that grows with every login). A token without
`ver` was issued under version 0.
"""

from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import RefreshToken, Token

from users import selectors
from users.models import User

VERSION_CLAIM = "ver"
_MAX_USER_ID = 2**63 - 1  # bigint primary keys
_REVOKED = "The token is no longer valid: sign in again."


class VersionedRefreshToken(RefreshToken):
    """A refresh token stamped with its user's token version; the access tokens made from it
    copy the stamp."""

    @classmethod
    def for_user(cls, user: User) -> "VersionedRefreshToken":
        token = super().for_user(user)
        token[VERSION_CLAIM] = user.token_version
        return token


def _user_id(token: Token) -> int:
    """The token's user id as the positive integer it must be: a signed token saying anything
    else (another type, a huge number) is refused, never handed to the database."""
    value = token.get(api_settings.USER_ID_CLAIM)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    if type(value) is not int or not 0 < value <= _MAX_USER_ID:
        raise InvalidToken("Token contained no recognizable user identification.")
    return value


def token_user(token: Token) -> User:
    """The user a signed, unexpired token speaks for: existing, active and of the token's
    version; anything else is a 401."""
    user = selectors.user_find(user_id=_user_id(token))
    version = token.get(VERSION_CLAIM, 0)
    if user is None or not user.is_active or type(version) is not int or version != user.token_version:
        raise AuthenticationFailed(_REVOKED, code="token_revoked")
    return user
