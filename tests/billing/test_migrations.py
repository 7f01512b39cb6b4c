"""The data migration that moved billing's columns off the Tenant onto billing.BillingAccount.

The three migrations of the move are unapplied for real (Django's MigrationExecutor), rows
are written to the old schema with the historical models, then the migrations run forward
and back again. PostgreSQL DDL is transactional: the test's transaction undoes it all.

The migrations are unapplied one by one rather than with `executor.migrate(BEFORE)`, whose
backwards plan replays the project state through every migration of every app (dj-stripe's
included: 95 s here) although these three only touch two tables.
"""

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db

# Newest first: the order they are unapplied in. Later migrations of the same apps come first
# (a leaf left applied would keep `migrate` from re-applying the move).
MOVE = [
    ("tenants", "0005_tenant_require_two_factor"),
    ("tenants", "0004_schemamigration"),
    ("tenants", "0003_billing_fields_removed"),
    ("billing", "0003_billingaccount_from_tenant"),
    ("billing", "0002_billingaccount"),
]
SINCE = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def migrate_back():
    """Unapply the move; returns the historical apps of the schema before it."""
    executor = MigrationExecutor(connection)
    for node in MOVE:
        state = executor.loader.project_state(node, at_end=False)
        executor.unapply_migration(state, executor.loader.graph.nodes[node])
    return executor.loader.project_state(MOVE[-1], at_end=False).apps


def migrate_forward():
    """Apply everything unapplied (the move); returns today's historical apps."""
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    return executor.loader.project_state(MOVE[0]).apps


def billing_columns(tenant) -> tuple:
    return (
        tenant.plan,
        tenant.plan_status,
        tenant.seats,
        tenant.past_due_since,
        tenant.stripe_customer_id,
        tenant.stripe_subscription_id,
    )


def account_columns(account) -> tuple:
    return (
        account.plan,
        account.status,
        account.seats,
        account.past_due_since,
        account.stripe_customer_id,
        account.stripe_subscription_id,
    )


def test_billing_values_move_to_one_account_per_tenant_and_back():
    with connection.cursor() as cursor:
        # Rows written earlier in this transaction would leave foreign-key checks pending,
        # and PostgreSQL refuses to ALTER a table with pending trigger events.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    old = migrate_back()
    assert "billing_billingaccount" not in connection.introspection.table_names()
    OldTenant = old.get_model("tenants", "Tenant")
    paying = OldTenant.objects.create(
        name="Paying",
        slug="paying-mig",
        schema_name="t_paying_mig",
        plan="pro",
        plan_status="past_due",
        seats=12,
        past_due_since=SINCE,
        stripe_customer_id="cus_mig_1",
        stripe_subscription_id="sub_mig_1",
    )
    free = OldTenant.objects.create(name="Free", slug="free-mig", schema_name="t_free_mig")

    new = migrate_forward()
    Tenant = new.get_model("tenants", "Tenant")
    BillingAccount = new.get_model("billing", "BillingAccount")
    assert not {"plan", "plan_status", "stripe_customer_id"} & {f.name for f in Tenant._meta.get_fields()}
    accounts = {account.tenant_id: account for account in BillingAccount.objects.all()}
    assert set(accounts) == set(Tenant.objects.values_list("pk", flat=True))  # every tenant has one
    assert account_columns(accounts[paying.pk]) == ("pro", "past_due", 12, SINCE, "cus_mig_1", "sub_mig_1")
    assert account_columns(accounts[free.pk]) == ("free", "active", None, None, "", "")

    # Backwards: the values return to the tenants' re-added columns before the table goes.
    BillingAccount.objects.filter(tenant_id=free.pk).update(plan="business", stripe_customer_id="cus_mig_2")
    old = migrate_back()
    OldTenant = old.get_model("tenants", "Tenant")
    assert billing_columns(OldTenant.objects.get(pk=paying.pk)) == (
        "pro",
        "past_due",
        12,
        SINCE,
        "cus_mig_1",
        "sub_mig_1",
    )
    assert billing_columns(OldTenant.objects.get(pk=free.pk)) == (
        "business",
        "active",
        None,
        None,
        "cus_mig_2",
        "",
    )
    assert "billing_billingaccount" not in connection.introspection.table_names()

    migrate_forward()  # today's schema again for the rest of the test's teardown
    assert "billing_billingaccount" in connection.introspection.table_names()
