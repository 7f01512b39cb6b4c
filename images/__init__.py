"""Images (avatars, logos)."""
