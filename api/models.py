"""API keys: per organization, with scopes, shown once, stored as a keyed hash.

They live in public: a key is looked up from its bearer header before anything else, and it
names the tenant it belongs to (a key works only on its own organization's host).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone

# The resources the API serves; a scope is "<resource>:read" or "<resource>:write"
# (write includes read). Adding a resource to the API adds it here.
RESOURCES = (
    "members",
    "invitations",
    "projects",
    "notifications",
    "billing",
    "organization",
    "profile",
    "reports",
    "audit",
)
SCOPES = tuple(f"{resource}:{mode}" for resource in RESOURCES for mode in ("read", "write"))


class ApiKey(models.Model):
    """A secret that lets a program use one organization's API on behalf of its creator."""

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    # The first characters of the key, shown in lists so people can tell their keys apart.
    prefix = models.CharField(max_length=16, unique=True)
    # HMAC-SHA256 of the whole key under API_KEY_HASH_SECRET (see api.keys for why not a
    # password hasher).
    key_hash = models.CharField(max_length=64, unique=True)
    scopes = models.JSONField(default=list)
    # The key acts as this person, never with more than their current role; a key whose
    # creator has left the organization stops working.
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="api_key_tenant_recent_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    def allows(self, resource: str, *, write: bool) -> bool:
        """True if the key's scopes cover reading (or writing) `resource`."""
        return f"{resource}:write" in self.scopes or (not write and f"{resource}:read" in self.scopes)
