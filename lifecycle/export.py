"""The organization export: every table of the tenant's schema and its rows in public, as a zip.

Each tenant table is written twice, `tenant/<table>.csv` (PostgreSQL's COPY, so every column
type comes out as PostgreSQL prints it) and `tenant/<table>.json` (one object per row,
`row_to_json`); the organization's public rows go to `public/<name>.json` and `.csv` with
their secrets left out (token and key hashes). Rows stream into the zip a table at a time,
so memory stays flat however large the tenant is.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO, Any

from django.db import connection
from django.db.models import F, QuerySet
from django.utils import timezone

from accounts.models import Membership
from billing.models import BillingAccount
from invitations.models import Invitation
from lifecycle.models import OrganizationDeletion, OrganizationExport
from tenants.models import Domain, Tenant
from tenants.schema_template import quote

# Columns never exported: they would let someone holding the zip use a link or a key.
SECRET_COLUMNS = {"token_hash", "token_salt", "key_hash", "password"}


def _public_rows(tenant: Tenant) -> dict[str, QuerySet[Any]]:
    return {
        "tenant": Tenant.objects.filter(pk=tenant.pk),
        "domains": Domain.objects.filter(tenant=tenant),
        "memberships": Membership.objects.filter(tenant=tenant),
        "invitations": Invitation.objects.filter(tenant=tenant),
        "billing_account": BillingAccount.objects.filter(tenant=tenant),
        "api_keys": tenant.api_keys.all(),
        "deletions": OrganizationDeletion.objects.filter(tenant=tenant),
        "exports": OrganizationExport.objects.filter(tenant=tenant),
    }


def _public_dicts(queryset: QuerySet[Any]) -> Iterator[dict[str, Any]]:
    model = queryset.model
    columns = [f.attname for f in model._meta.concrete_fields if f.attname not in SECRET_COLUMNS]
    # A membership names its person by address, not only by a user id the zip cannot resolve.
    extra = {"user_email": F("user__email")} if model is Membership else {}
    yield from queryset.order_by("pk").values(*columns, **extra)


def _json_default(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _write_rows(archive: zipfile.ZipFile, stem: str, rows: Iterable[dict[str, Any]]) -> int:
    rows = list(rows)
    archive.writestr(f"{stem}.json", json.dumps(rows, default=_json_default, indent=1))
    text = io.StringIO()
    if rows:
        writer = csv.DictWriter(text, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(
                {
                    k: json.dumps(v, default=_json_default) if isinstance(v, (dict, list)) else v
                    for k, v in row.items()
                }
            )
    archive.writestr(f"{stem}.csv", text.getvalue())
    return len(rows)


def _tenant_tables(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s::regnamespace AND c.relkind = 'r' "
            "ORDER BY c.relname",
            [schema],
        )
        return [name for (name,) in cursor.fetchall()]


def _copy_table(archive: zipfile.ZipFile, schema: str, table: str) -> int:
    qualified = f"{quote(schema)}.{quote(table)}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT a.attname FROM pg_attribute a WHERE a.attrelid = %s::regclass AND a.attnum > 0 "
            "AND NOT a.attisdropped ORDER BY a.attnum",
            [qualified],
        )
        columns = [name for (name,) in cursor.fetchall() if name not in SECRET_COLUMNS]
        column_list = ", ".join(quote(c) for c in columns)
        with archive.open(f"tenant/{table}.csv", "w") as target:
            raw = cursor.cursor  # psycopg's own cursor: COPY streams without a round trip per row
            with raw.copy(
                f"COPY (SELECT {column_list} FROM {qualified} ORDER BY 1) TO STDOUT WITH CSV HEADER"
            ) as copy:
                for chunk in copy:
                    target.write(bytes(chunk))
        count = 0
        with archive.open(f"tenant/{table}.json", "w") as target:
            target.write(b"[")
            cursor.execute(
                f"SELECT row_to_json(t)::text FROM (SELECT {column_list} FROM {qualified} ORDER BY 1) t"
            )
            while batch := cursor.fetchmany(1000):
                for (line,) in batch:
                    target.write((b",\n" if count else b"\n") + line.encode())
                    count += 1
            target.write(b"\n]\n")
    return count


def export_write(*, tenant: Tenant, target: IO[bytes]) -> dict[str, int]:
    """Write the organization's zip to `target`; returns the row count of each file's table."""
    counts: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for table in _tenant_tables(tenant.schema_name):
            counts[f"tenant/{table}"] = _copy_table(archive, tenant.schema_name, table)
        for name, queryset in _public_rows(tenant).items():
            counts[f"public/{name}"] = _write_rows(archive, f"public/{name}", _public_dicts(queryset))
        archive.writestr(
            "manifest.json",
            json.dumps(
                {"organization": tenant.slug, "exported_at": timezone.now().isoformat(), "rows": counts},
                indent=1,
            ),
        )
    return counts
