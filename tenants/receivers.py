"""Cache invalidation for host resolution (a cache concern, not business logic)."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from tenants.models import Domain, Tenant
from tenants.resolution import resolution_invalidate


@receiver([post_save, post_delete], sender=Domain, dispatch_uid="tenants.domain_changed")
@receiver([post_save, post_delete], sender=Tenant, dispatch_uid="tenants.tenant_changed")
def on_tenant_or_domain_changed(**_: object) -> None:
    transaction.on_commit(resolution_invalidate, robust=True)
