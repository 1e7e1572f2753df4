"""Settings for the test suite: the real PostgreSQL and MariaDB of this machine by default.

Override with DATABASE_URL / MYSQL_URL / MONGO_URL. The tests create `test_<name>` databases.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ecommerce")
os.environ.setdefault("MYSQL_URL", "mysql://root@127.0.0.1:3306/ecommerce")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789")
# The built-in test payment provider, so live servers and the contract suites can take payments.
os.environ.setdefault("PAYMENTS_TEST_PROVIDER", "1")

from ecommerce.settings import *  # noqa: E402,F403

# Hashing with Argon2 costs ~50 ms a user; the tests make hundreds. Production keeps Argon2.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Static files from the apps directly, no collectstatic needed.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
