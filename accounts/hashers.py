"""Argon2id with OWASP's recommended parameters instead of Django's heavier defaults.

Django's defaults (100 MiB, parallelism 8) cost ~0.4 s of both cores per hash on a 2-core
machine, which alone breaks the sign-up latency target and lets a burst of sign-ups or
logins exhaust memory. OWASP's Password Storage Cheat Sheet recommends argon2id with
m=19 MiB, t=2, p=1 as a minimum; each is configurable. Hashes made with other parameters
still verify and are upgraded at the next login (Django's `must_update`).
"""

from django.conf import settings
from django.contrib.auth.hashers import Argon2PasswordHasher as DjangoArgon2PasswordHasher


class Argon2PasswordHasher(DjangoArgon2PasswordHasher):
    time_cost = getattr(settings, "ARGON2_TIME_COST", 2)
    memory_cost = getattr(settings, "ARGON2_MEMORY_KIB", 19456)
    parallelism = getattr(settings, "ARGON2_PARALLELISM", 1)
