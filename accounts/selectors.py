from datetime import timedelta

from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from accounts.models import Membership, User
from tenants.models import Tenant


def membership_list_for_tenant(*, tenant: Tenant) -> QuerySet[Membership]:
    """Members of a tenant with their users, owners first."""
    return (
        Membership.objects.filter(tenant=tenant)
        .select_related("user")
        .order_by(
            Case(
                When(role=Membership.Role.OWNER, then=Value(0)),
                When(role=Membership.Role.ADMIN, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
            "user__email",
        )
    )


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    """The organizations a user belongs to, with their primary domains."""
    return (
        Membership.objects.filter(user=user)
        .select_related("tenant")
        .prefetch_related("tenant__domains")
        .order_by("tenant__name")
    )


def tenant_of_recent_sign_up(*, user: User, within_seconds: int = 120) -> Tenant | None:
    """The organization `user` signed up with, if that sign-up happened moments ago."""
    if user.date_joined < timezone.now() - timedelta(seconds=within_seconds):
        return None
    owned = [
        m.tenant
        for m in Membership.objects.filter(user=user, role=Membership.Role.OWNER).select_related("tenant")[:2]
    ]
    return owned[0] if len(owned) == 1 else None
