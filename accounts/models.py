from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


def email_normalize(email: str) -> str:
    """One spelling per address: surrounding spaces dropped, the whole address lower-cased."""
    return (email or "").strip().lower()


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra: object) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=email_normalize(email), **extra)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> "User":
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email__iexact=email_normalize(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    """A person: one account across every organization, signing in with an email address."""

    email = models.EmailField(max_length=254)
    full_name = models.CharField(max_length=150, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        ordering = ["email"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                name="accounts_user_email_ci_unique",
                violation_error_message="An account with this email address already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = email_normalize(self.email)

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Membership(models.Model):
    """A user's place in one organization, with a role."""

    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "tenant"],
                name="accounts_membership_user_tenant_unique",
                violation_error_message="This person is already a member of the organization.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.has_role(self.Role.ADMIN)

    def has_role(self, role: str) -> bool:
        """True if this member's role is `role` or above it (owner > admin > member)."""
        return ROLE_RANK[self.Role(self.role)] <= ROLE_RANK[self.Role(role)]


# Lower rank = more power; nobody may hand out a role above their own.
ROLE_RANK = {Membership.Role.OWNER: 0, Membership.Role.ADMIN: 1, Membership.Role.MEMBER: 2}


class LoginHandoff(models.Model):
    """A one-time, short-lived link that logs a user in on a tenant host.

    Sessions are per host (`localhost` and `<slug>.localhost` share no cookies), so the host
    where the user proved who they are mints this and the tenant host redeems it once.
    Only a hash of the token is stored: a database leak yields no usable link.
    """

    token_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    # Flash messages queued on the minting host ([level, text] pairs): shown on the host the
    # user lands on, where the session is, instead of on the one they are leaving.
    messages = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["expires_at"], name="accounts_handoff_expiry_idx")]

    def __str__(self) -> str:
        return f"hand-off for {self.user_id} to {self.tenant_id}"
