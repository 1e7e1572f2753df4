"""Password hashing: Argon2id at OWASP's recommended parameters.

Django's defaults (100 MiB, 8 lanes) cost about a second per login on a busy 2-core pod;
OWASP's floor for Argon2id (19 MiB, 2 passes, 1 lane) is still far beyond what GPU
cracking affords, at a few tens of milliseconds. Hashes made with other parameters are
upgraded on the next login (Django's must_update).
"""

from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    time_cost = 2
    memory_cost = 19 * 1024  # KiB
    parallelism = 1
