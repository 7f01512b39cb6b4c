"""Hashing of high-entropy secrets (link tokens, API keys) for storage and lookup."""

import hashlib


def token_hash(token: str) -> str:
    """sha256 hex of a random token: the only form a token is stored in.

    A plain fast hash is right here, unlike for passwords: the tokens carry 256 random bits,
    so there is nothing to brute-force, and the lookup runs on every use.
    """
    return hashlib.sha256(token.encode()).hexdigest()
