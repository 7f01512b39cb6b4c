"""The key material: how keys are made, recognised and stored.

A key is `sk_<prefix>_<secret>`: 8 random characters shown in lists, then 256 random bits.
It is stored as HMAC-SHA256 under a server-side secret, not with a password hasher:
djangorestframework-api-key hashed keys with Django's password hashers and measured about
0.4 s per request (its issue #173), a cost paid on every call. Password hashers are slow on
purpose, to make guessing low-entropy passwords expensive; a 256-bit random key cannot be
guessed, so the slowness buys nothing. The HMAC's key (API_KEY_HASH_SECRET, distinct from
SECRET_KEY in production) means a copy of the table alone cannot even confirm a leaked key.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from django.conf import settings

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_KEY = re.compile(r"^sk_(?P<prefix>[a-z0-9]{8})_[A-Za-z0-9_-]{43}$")


def key_new() -> tuple[str, str]:
    """A fresh key and its prefix (the part shown in lists)."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(8))
    return f"sk_{prefix}_{secrets.token_urlsafe(32)}", prefix


def key_is_well_formed(key: str) -> bool:
    return bool(_KEY.match(key))


def key_hash(key: str) -> str:
    """The stored form of a key: HMAC-SHA256 under the server's key-hashing secret."""
    return hmac.new(settings.API_KEY_HASH_SECRET.encode(), key.encode(), hashlib.sha256).hexdigest()
