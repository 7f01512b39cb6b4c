"""One organization's backup and restore: its schema (pg_dump) and its public rows, in one file.

The file is JSON: the tenant row, its domains, memberships (users named by email), billing
account and invitations as Django serializes them, and `pg_dump --schema` of its schema as
INSERT statements. INSERTs, not COPY, so the restore runs the dump on Django's connection,
inside the same transaction as the public rows: a restore that fails leaves nothing behind.

A restore goes to a slug with no tenant (the same one after a deletion, or a fresh one next to
the original). The dump names its schema throughout, so it is restored under that name and
renamed, all in the transaction (a live schema of that name is moved aside meanwhile).
Users are never created: a membership whose person has no account here is skipped, and so
is anything another tenant holds (a custom domain, a Stripe customer, an invitation token).
The restored schema is then brought up to the code's migrations (tenants.migration).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_exists

from accounts.models import Membership, User
from billing.models import BillingAccount
from invitations.models import Invitation
from tenants.migration import schemas_migrate
from tenants.models import Domain, Tenant
from tenants.schema_template import quote
from tenants.services import tenant_domain_for_slug
from tenants.validators import schema_name_for, validate_slug

FORMAT = "saas-tenant-dump/1"
_USER_FIELDS = {"user", "invited_by", "decided_by"}


@dataclass
class RestoreReport:
    tenant: Tenant
    skipped: list[str] = field(default_factory=list)


def _pg_dump(schema: str) -> str:
    db = settings.DATABASES["default"]
    command = [
        settings.PG_DUMP,
        "--schema",
        schema,
        "--no-owner",
        "--no-privileges",
        "--inserts",
        "--rows-per-insert=500",
    ]
    env = {"PGPASSWORD": db.get("PASSWORD") or "", "PATH": "/usr/bin:/usr/local/bin:/bin"}
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if db.get(key):
            command += [option, str(db[key])]
    done = subprocess.run([*command, db["NAME"]], capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if done.returncode != 0:
        raise RuntimeError(f"pg_dump failed: {done.stderr.strip()}")
    return done.stdout


def _rows(queryset) -> list[dict[str, Any]]:
    return serializers.serialize("python", queryset)


def tenant_dump(*, slug: str, path: Path) -> dict[str, int]:
    """Write `slug`'s schema and public rows to `path`; how many rows of each kind."""
    tenant = Tenant.objects.get(slug=slug)
    with transaction.atomic():
        rows = {
            "tenants.domain": _rows(Domain.objects.filter(tenant=tenant)),
            "accounts.membership": _rows(Membership.objects.filter(tenant=tenant)),
            "billing.billingaccount": _rows(BillingAccount.objects.filter(tenant=tenant)),
            "invitations.invitation": _rows(Invitation.objects.filter(tenant=tenant)),
        }
        user_ids = {
            row["fields"][name]
            for kind in rows.values()
            for row in kind
            for name in _USER_FIELDS
            if row["fields"].get(name)
        }
        users = dict(User.objects.filter(pk__in=user_ids).values_list("pk", "email"))
    document = {
        "format": FORMAT,
        "dumped_at": timezone.now().isoformat(),
        "tenant": {"name": tenant.name, "slug": tenant.slug, "schema_name": tenant.schema_name},
        "users": {str(pk): email for pk, email in users.items()},
        "rows": rows,
        "schema_sql": _pg_dump(tenant.schema_name),
    }
    path.write_text(json.dumps(document, cls=DjangoJSONEncoder))
    return {kind: len(values) for kind, values in rows.items()}


_HEADER_SET = re.compile(r"^SET (\w+) = ")


def _transaction_local(schema_sql: str) -> str:
    """pg_dump's session settings (its header) made local to the restore's transaction."""
    # `\restrict` / `\unrestrict` (pg_dump since 15.14 / 16.10 / 17.6) guard psql against
    # meta-commands smuggled into the data; the dump goes to PostgreSQL directly here.
    lines = [
        line for line in schema_sql.splitlines() if not line.startswith(("\\restrict ", "\\unrestrict "))
    ]
    for index, line in enumerate(lines):
        if line.startswith(("CREATE ", "-- Name:")):
            break
        lines[index] = _HEADER_SET.sub(r"SET LOCAL \1 = ", line).replace(
            "set_config('search_path', '', false)", "set_config('search_path', '', true)"
        )
    return "\n".join(lines)


@transaction.atomic
def tenant_restore(*, path: Path, slug: str | None = None) -> RestoreReport:
    """Recreate the tenant in `path` under `slug` (default: its own), schema and public rows."""
    document = json.loads(path.read_text())
    if document.get("format") != FORMAT:
        raise ValidationError({"file": f"Not a tenant dump ({FORMAT})."})
    source = document["tenant"]
    slug = (slug or source["slug"]).strip().lower()
    validate_slug(slug)
    if Tenant.objects.filter(slug=slug).exists():
        raise ValidationError(
            {"slug": f"A tenant {slug} exists: restore under another slug, or delete it first."}
        )
    target_schema = schema_name_for(slug)
    if schema_exists(target_schema):
        raise ValidationError({"slug": f"A schema {target_schema} exists without its tenant; drop it first."})
    report = RestoreReport(
        tenant=Tenant.objects.create(name=source["name"], slug=slug, schema_name=target_schema)
    )
    tenant = report.tenant

    original, aside = source["schema_name"], f"{source['schema_name']}_restore_aside"
    with connection.cursor() as cursor:
        moved = original != target_schema and schema_exists(original)
        if moved:
            cursor.execute(f"ALTER SCHEMA {quote(original)} RENAME TO {quote(aside)}")
        cursor.execute(_transaction_local(document["schema_sql"]))
        if original != target_schema:
            cursor.execute(f"ALTER SCHEMA {quote(original)} RENAME TO {quote(target_schema)}")
        if moved:
            cursor.execute(f"ALTER SCHEMA {quote(aside)} RENAME TO {quote(original)}")
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    connection.search_path_set_schemas = None  # type: ignore[attr-defined]  # the dump's SET LOCAL

    users = {
        int(pk): User.objects.filter(email__iexact=email).first() for pk, email in document["users"].items()
    }
    _restore_public_rows(tenant, document["rows"], users, report)
    return report


def _restore_public_rows(
    tenant: Tenant,
    rows: dict[str, list[dict[str, Any]]],
    users: dict[int, User | None],
    report: RestoreReport,
) -> None:
    for row in rows["tenants.domain"]:
        fields = row["fields"]
        host = tenant_domain_for_slug(tenant.slug) if fields["is_primary"] else fields["domain"]
        if Domain.objects.filter(domain__iexact=host).exists():
            report.skipped.append(f"domain {host}: in use")
            continue
        Domain.objects.create(tenant=tenant, domain=host, is_primary=fields["is_primary"])
    for row in rows["accounts.membership"]:
        fields = dict(row["fields"])
        user = users.get(fields.pop("user"))
        if user is None:
            report.skipped.append(f"membership {row['pk']}: its person has no account here")
            continue
        fields.pop("tenant")
        Membership.objects.create(tenant=tenant, user=user, **fields)
    for row in rows["billing.billingaccount"]:
        fields = dict(row["fields"])
        fields.pop("tenant")
        if (
            fields["stripe_customer_id"]
            and BillingAccount.objects.filter(stripe_customer_id=fields["stripe_customer_id"]).exists()
        ):
            report.skipped.append(f"Stripe customer {fields['stripe_customer_id']}: another tenant's")
            fields["stripe_customer_id"] = fields["stripe_subscription_id"] = ""
        BillingAccount.objects.create(tenant=tenant, **fields)
    for row in rows["invitations.invitation"]:
        fields = dict(row["fields"])
        fields.pop("tenant")
        if Invitation.objects.filter(token_hash=fields["token_hash"]).exists():
            report.skipped.append(f"invitation of {fields['email']}: its link belongs to the original")
            continue
        for name in _USER_FIELDS & fields.keys():
            fields[name] = users.get(fields[name]) if fields[name] else None
        Invitation.objects.create(tenant=tenant, **fields)


def tenant_restore_and_migrate(*, path: Path, slug: str | None = None) -> RestoreReport:
    """Restore, then bring the restored schema to the code's migrations (a dump may be older)."""
    report = tenant_restore(path=path, slug=slug)
    schemas_migrate(schemas=[report.tenant.schema_name], log=lambda line: None)
    return report
