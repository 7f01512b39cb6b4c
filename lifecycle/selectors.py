from lifecycle.models import OrganizationDeletion
from tenants.models import Tenant


def deletion_pending(*, tenant: Tenant) -> OrganizationDeletion | None:
    """The organization's open deletion request (scheduled or under way), if any."""
    return (
        OrganizationDeletion.objects.filter(
            tenant=tenant,
            state__in=[OrganizationDeletion.State.SCHEDULED, OrganizationDeletion.State.DELETING],
        )
        .order_by("-requested_at")
        .first()
    )
