from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django_fsm import FSMField, FSMFieldMixin, transition

from accounts.models import Membership, email_normalize
from invitations.errors import InvitationError


class ThreadSafeRefreshMixin(models.Model):
    """`refresh_from_db()` for models with protected FSM fields, safe under threads.

    django-fsm-2's FSMModelMixin switches the *field's* `protected` flag off and on around the
    refresh. The field is shared by every instance in the process, so two threads refreshing
    at once race: one switches protection back on while the other is still assigning, and the
    assignment fails with "Direct state modification is not allowed" (a 500 on concurrent
    POSTs). Protection only refuses assignment over a value already in the instance's
    `__dict__`, so dropping this instance's own value first lets the refresh assign it, and
    touches nothing another thread can see.
    """

    class Meta:
        abstract = True

    def refresh_from_db(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("fields") or (args[1] if len(args) > 1 else None)
        protected = [
            f.name
            for f in self._meta.concrete_fields
            if isinstance(f, FSMFieldMixin) and f.protected and (fields is None or f.attname in fields)
        ]
        kept = {name: self.__dict__.pop(name) for name in protected if name in self.__dict__}
        try:
            super().refresh_from_db(*args, **kwargs)
        except BaseException:
            for name, value in kept.items():  # the row is gone or unreadable: keep what we had
                self.__dict__.setdefault(name, value)
            raise


class Invitation(ThreadSafeRefreshMixin, models.Model):
    """An offer to join one organization with a role: pending until a single decision.

    Transitions only set the state and its timestamps; the services in
    `invitations.services` lock the row around them and do the work (membership, audit,
    events). The state field is protected: it changes through a transition or not at all.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DECLINED = "declined", "Declined"
        EXPIRED = "expired", "Expired"
        REVOKED = "revoked", "Revoked"

    # Why the invitation can no longer be used, as a person reading the link should see it.
    CLOSED_MESSAGES = {
        State.ACCEPTED: "This invitation has already been used.",
        State.DECLINED: "This invitation was declined.",
        State.EXPIRED: "This invitation has expired. Ask for a new one.",
        State.REVOKED: "This invitation was withdrawn by the organization.",
    }

    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(max_length=254)
    role = models.CharField(max_length=16, choices=Membership.Role.choices, default=Membership.Role.MEMBER)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who accepted, declined or revoked it (empty for expiry and anonymous declines).
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    token_salt = models.CharField(max_length=64, editable=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    state = FSMField(default=State.PENDING, choices=State.choices, protected=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # When the current token was issued (creation or the last resend): rate limits resends.
    issued_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField()
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                Lower("email"),
                "tenant",
                condition=models.Q(state="pending"),
                name="invitations_pending_email_tenant_ci_unique",
                violation_error_message="This address already has a pending invitation.",
            ),
        ]
        indexes = [
            models.Index(
                fields=["expires_at"],
                name="invitations_pending_expiry_idx",
                condition=models.Q(state="pending"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} to {self.tenant_id} ({self.state})"

    def clean(self) -> None:
        super().clean()
        self.email = email_normalize(self.email)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at <= now

    def closed_message(self, now: datetime) -> str:
        """Why this invitation cannot be used, or '' if it still can."""
        if self.state != self.State.PENDING:
            return self.CLOSED_MESSAGES[self.State(self.state)]
        if self.is_expired(now):
            return self.CLOSED_MESSAGES[self.State.EXPIRED]
        return ""

    # --- guards: raise a domain error a person can read -------------------------------------
    def _guard_open(self) -> bool:
        message = self.closed_message(timezone.now())
        if message:
            raise InvitationError(message, code="closed")
        return True

    def _guard_pending(self) -> bool:
        if self.state != self.State.PENDING:
            raise InvitationError(self.CLOSED_MESSAGES[self.State(self.state)], code="closed")
        return True

    def _guard_past_expiry(self) -> bool:
        self._guard_pending()
        if not self.is_expired(timezone.now()):
            raise InvitationError("This invitation has not expired yet.", code="not_expired")
        return True

    # --- transitions: state and timestamps only ----------------------------------------------
    # source="*" so that the guards, not django-fsm's bare TransitionNotAllowed, explain a
    # refusal ("already used", "withdrawn", ...); each guard insists on pending first.
    @transition(field=state, source="*", target=State.ACCEPTED, conditions=[_guard_open])  # type: ignore[list-item]
    def accept(self, *, at: datetime) -> None:
        self.decided_at = at

    @transition(field=state, source="*", target=State.DECLINED, conditions=[_guard_open])  # type: ignore[list-item]
    def decline(self, *, at: datetime) -> None:
        self.decided_at = at

    @transition(field=state, source="*", target=State.REVOKED, conditions=[_guard_pending])  # type: ignore[list-item]
    def revoke(self, *, at: datetime) -> None:
        self.decided_at = at

    @transition(field=state, source="*", target=State.EXPIRED, conditions=[_guard_past_expiry])  # type: ignore[list-item]
    def expire(self, *, at: datetime) -> None:
        self.decided_at = at
