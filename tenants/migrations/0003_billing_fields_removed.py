# The six billing columns now live on billing.BillingAccount; billing's data migration
# copies them there first (hence the dependency on it).

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('tenants', '0002_billing_fields'),
        ('billing', '0003_billingaccount_from_tenant'),
    ]

    operations = [
        migrations.RemoveField(
            model_name='tenant',
            name='past_due_since',
        ),
        migrations.RemoveField(
            model_name='tenant',
            name='plan',
        ),
        migrations.RemoveField(
            model_name='tenant',
            name='plan_status',
        ),
        migrations.RemoveField(
            model_name='tenant',
            name='seats',
        ),
        migrations.RemoveField(
            model_name='tenant',
            name='stripe_customer_id',
        ),
        migrations.RemoveField(
            model_name='tenant',
            name='stripe_subscription_id',
        ),
    ]
