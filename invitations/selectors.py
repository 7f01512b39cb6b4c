from typing import Any

from django.utils import timezone

from invitations.cache import pending_cache_get, pending_cache_set
from invitations.models import Invitation
from invitations.tokens import token_is_well_formed, token_matches
from saas.crypto import token_hash
from tenants.models import Tenant


def invitation_get_by_token(*, token: str) -> Invitation | None:
    """The invitation a link's token belongs to (any state), or None if garbled or unknown."""
    if not token_is_well_formed(token):
        return None
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by").filter(token_hash=token_hash(token)).first()
    )
    # The index lookup finds the row; the constant-time check is what accepts the token.
    if invitation is None or not token_matches(token, invitation.token_hash):
        return None
    return invitation


def invitation_pending_list(*, tenant: Tenant) -> list[dict[str, Any]]:
    """Pending invitations of a tenant for the members page (cached until the next change)."""
    rows = pending_cache_get(tenant=tenant)
    if rows is None:
        rows = [
            dict(row)
            for row in Invitation.objects.filter(tenant=tenant, state=Invitation.State.PENDING)
            .order_by("-created_at")
            .values(
                "id",
                "email",
                "role",
                "invited_by__email",
                "invited_by__full_name",
                "created_at",
                "sent_at",
                "expires_at",
            )
        ]
        pending_cache_set(tenant=tenant, rows=rows)
    now = timezone.now()
    return [{**row, "is_expired": row["expires_at"] <= now} for row in rows]


def invitation_pending_count(*, tenant: Tenant) -> int:
    """Pending invitations that still hold a seat (billing counts them); expired ones do not."""
    return Invitation.objects.filter(
        tenant=tenant, state=Invitation.State.PENDING, expires_at__gt=timezone.now()
    ).count()
