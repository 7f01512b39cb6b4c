"""Audit rows cannot be changed or deleted through the app: a trigger refuses it in the database.

UPDATE, DELETE and TRUNCATE on the table raise, whoever runs them (the ORM, raw SQL, the admin).
One UPDATE gets through: blanking the actor of a deleted account (actor NULL, actor_email '',
actor_erased true) with every other column as it was, the erasure account deletion owes its
person. DROP SCHEMA fires no trigger, so deleting the whole organization still works.

The function lives in the public schema, made idempotently by each tenant schema's run of
this migration, so tenant schemas hold only the triggers (which tenants.schema_template copies).
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION public.audit_event_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.actor_id IS NULL AND NEW.actor_email = '' AND NEW.actor_erased
           AND (to_jsonb(NEW) - 'actor_id' - 'actor_email' - 'actor_erased')
               = (to_jsonb(OLD) - 'actor_id' - 'actor_email' - 'actor_erased') THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit events cannot be changed or deleted (% on %.%)',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
"""

TRIGGERS = """
CREATE TRIGGER activity_auditevent_immutable
    BEFORE UPDATE OR DELETE ON activity_auditevent
    FOR EACH ROW EXECUTE FUNCTION public.audit_event_immutable();
CREATE TRIGGER activity_auditevent_no_truncate
    BEFORE TRUNCATE ON activity_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION public.audit_event_immutable();
"""

DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS activity_auditevent_no_truncate ON activity_auditevent;
DROP TRIGGER IF EXISTS activity_auditevent_immutable ON activity_auditevent;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("activity", "0004_audit_context"),
    ]

    operations = [
        migrations.RunSQL(FUNCTION + TRIGGERS, DROP_TRIGGERS),
    ]
