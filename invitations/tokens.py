"""Invitation tokens: unguessable, stored only as a hash, compared in constant time.

The token is never stored. Each issue draws 32 random bytes (the row's `token_salt`) and the
token is HMAC-SHA256(SECRET_KEY, salt), base64url: 43 characters. Only sha256(token) is kept
for the lookup. Why derived rather than stored: the email and reminder tasks run later in a
worker and must rebuild the link from ids alone, without the token ever being written to the
outbox or a task's arguments. A database dump alone therefore yields no usable link, and a
token from another environment (another SECRET_KEY and database) matches nothing here.
"""

import hmac
import re
import secrets
from base64 import urlsafe_b64encode

from django.utils.crypto import salted_hmac

from saas.crypto import token_hash

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
_KEY_SALT = "invitations.tokens"


def token_salt_new() -> str:
    """32 fresh random bytes, hex: issuing a new salt invalidates every earlier link."""
    return secrets.token_hex(32)


def token_for_salt(salt: str) -> str:
    """The link token for a salt (only this server, with its SECRET_KEY, can compute it)."""
    digest = salted_hmac(_KEY_SALT, salt, algorithm="sha256").digest()
    return urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_is_well_formed(token: str) -> bool:
    """True if the text could be a token at all (a garbled or truncated link is not)."""
    return bool(TOKEN_PATTERN.fullmatch(token or ""))


def token_matches(token: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented token with a stored hash."""
    return hmac.compare_digest(token_hash(token), stored_hash)
