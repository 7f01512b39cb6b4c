"""Move each tenant's plan, status, seats and Stripe ids onto its new billing account.

Every existing tenant gets its row here (later ones get theirs on first use). Runs only on
the public schema: the router skips billing, a shared app, in tenant schemas. Reversible, so
`migrate billing 0001` puts the values back on the tenants before their columns return.
"""

from django.db import migrations
from django.utils import timezone

BATCH = 1000
COPIED = ("plan", "seats", "past_due_since", "stripe_customer_id", "stripe_subscription_id")


def billing_accounts_from_tenants(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    now = timezone.now()
    batch = []
    for tenant in Tenant.objects.order_by("pk").iterator(chunk_size=BATCH):
        batch.append(
            BillingAccount(
                tenant_id=tenant.pk,
                status=tenant.plan_status,
                created_at=now,
                updated_at=now,
                **{name: getattr(tenant, name) for name in COPIED},
            )
        )
        if len(batch) == BATCH:
            BillingAccount.objects.bulk_create(batch)
            batch = []
    BillingAccount.objects.bulk_create(batch)


def tenants_from_billing_accounts(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    batch = []
    for account in BillingAccount.objects.order_by("pk").iterator(chunk_size=BATCH):
        tenant = Tenant(pk=account.tenant_id, plan_status=account.status)
        for name in COPIED:
            setattr(tenant, name, getattr(account, name))
        batch.append(tenant)
        if len(batch) == BATCH:
            Tenant.objects.bulk_update(batch, ["plan_status", *COPIED])
            batch = []
    Tenant.objects.bulk_update(batch, ["plan_status", *COPIED])


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0002_billingaccount'),
        ('tenants', '0002_billing_fields'),
    ]

    operations = [
        migrations.RunPython(billing_accounts_from_tenants, tenants_from_billing_accounts),
    ]
