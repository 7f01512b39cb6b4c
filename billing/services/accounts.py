"""The one way billing's services take hold of a tenant's billing row for a change."""

from __future__ import annotations

from billing.models import BillingAccount
from tenants.models import Tenant


def billing_account_lock(*, tenant: Tenant) -> BillingAccount:
    """The tenant's billing row, locked until the caller's transaction ends (made if missing).

    Call inside a transaction. Changes to one tenant's billing (a webhook, the past-due sweep,
    a first Upgrade creating the customer) queue on this lock and each sees the one before.
    A missing row (a tenant provisioned since the data migration, never read yet) is inserted;
    a concurrent insert for the same tenant makes ours wait on the unique tenant column and
    then fail, and get_or_create reads, and locks, the row that won.
    """
    account, _ = BillingAccount.objects.select_for_update().get_or_create(tenant=tenant)
    return account
