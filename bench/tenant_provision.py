"""Tenant provisioning: our template copy against django-tenants' two ways, in one run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/tenant_provision.py [--count 20] [--migrate-count 20]

Each way makes `--count` tenants (row + schema + primary domain), one after another, each in
its own committed transaction, in a throwaway database (devtools.databases):

- ours:    tenants.services.tenant_provision (copies the migrated template schema with one
           DDL script; also writes the audit row);
- migrate: django-tenants' default, `Tenant.save()` with auto_create_schema=True:
           CREATE SCHEMA, then `migrate_schemas --schema` replays every migration;
- clone:   django-tenants' clone mode (TENANT_BASE_SCHEMA + TENANT_CREATION_FAKES_MIGRATIONS):
           its PL/pgSQL clone_schema() of the same template, then a faked migrate.

Target: ours < 50 ms median. The last line printed is JSON:
{"ours_ms": median, "migrate_ms": median, "clone_ms": median}.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import base_environment, quick_defaults, server_url, summary

from devtools.databases import throwaway_database

TARGET_MS = 50


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=20, help="tenants per way (default 20)")
    parser.add_argument(
        "--migrate-count",
        type=int,
        default=None,
        help="tenants for the migrate way only (default: --count); each one replays every "
        "migration, which takes minutes per tenant once djstripe is installed",
    )
    quick_defaults(parser, count=5, migrate_count=1)
    args = parser.parse_args()
    migrate_count = args.migrate_count if args.migrate_count is not None else args.count

    with throwaway_database(server_url(), env=base_environment()) as database_url:
        os.environ.update(base_environment(DATABASE_URL=database_url))
        results = run(count=args.count, migrate_count=migrate_count)

    print()
    print(
        f"{'way':<9} {'n':>3} {'median ms':>10} {'p95 ms':>10} {'min ms':>9} {'max ms':>10} {'load/core':>10}"
    )
    for way, figures in results.items():
        print(
            f"{way:<9} {figures['n']:>3} {figures['median']:>10.1f} {figures['p95']:>10.1f} "
            f"{figures['min']:>9.1f} {figures['max']:>10.1f} {figures['load']:>10.2f}"
        )
    ours = results["ours"]["median"]
    print(
        f"\nours vs migrate: {results['migrate']['median'] / ours:.0f}x faster; "
        f"ours vs clone: {results['clone']['median'] / ours:.1f}x faster; "
        f"target ours < {TARGET_MS} ms median: {'met' if ours < TARGET_MS else 'MISSED'}"
    )
    print(
        json.dumps(
            {
                "ours_ms": results["ours"]["median"],
                "migrate_ms": results["migrate"]["median"],
                "clone_ms": results["clone"]["median"],
            }
        )
    )


def run(*, count: int, migrate_count: int) -> dict[str, dict[str, float]]:
    import django  # Django runs in this process, in the throwaway database

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import override_settings

    from tenants.models import Domain, Tenant
    from tenants.schema_template import quote, template_schema
    from tenants.services import tenant_domain_for_slug, tenant_provision
    from tenants.validators import schema_name_for

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_class WHERE relnamespace = %s::regnamespace AND relkind = 'r'",
            [template_schema()],
        )
        tables = cursor.fetchone()[0]
        cursor.execute(f"SELECT count(*) FROM {quote(template_schema())}.django_migrations")
        migrations = cursor.fetchone()[0]
    print(
        f"template schema {template_schema()}: {tables} tables, {migrations} migrations recorded; "
        f"tenant apps: {', '.join(settings.TENANT_APPS)}",
        flush=True,
    )

    def with_django_tenants(slug: str) -> None:
        tenant = Tenant(name=slug.title(), slug=slug, schema_name=schema_name_for(slug))
        tenant.auto_create_schema = True  # the class turns it off: we provision by copy
        tenant.save(verbosity=0)
        Domain.objects.create(tenant=tenant, domain=tenant_domain_for_slug(slug), is_primary=True)

    def ours(slug: str) -> None:
        tenant_provision(name=slug.title(), slug=slug)

    def clone(slug: str) -> None:
        with override_settings(TENANT_BASE_SCHEMA=template_schema(), TENANT_CREATION_FAKES_MIGRATIONS=True):
            with_django_tenants(slug)

    ways: list[tuple[str, Callable[[str], None], int]] = [
        ("ours", ours, count),
        ("clone", clone, count),
        ("migrate", with_django_tenants, migrate_count),
    ]
    results: dict[str, dict[str, float]] = {}
    for way, provision, n in ways:
        # One untimed tenant first: per-process caches (our DDL script, django-tenants'
        # clone_schema() function, the migration loader's imports) are then warm for all.
        provision(f"{way}warm")
        timings = []
        for index in range(n):
            slug = f"{way}{index}"
            started = time.perf_counter()
            provision(slug)
            timings.append((time.perf_counter() - started) * 1000)
            check_schema(schema_name_for(slug))
            print(f"  {way:<8} {index + 1:>3}/{n}: {timings[-1]:9.1f} ms", flush=True)
        results[way] = summary(timings)
        # The machine may be shared: say how busy it was (runnable processes per core).
        results[way]["load"] = round(os.getloadavg()[0] / (os.cpu_count() or 1), 2)
    connection.close()
    return results


def check_schema(schema: str) -> None:
    """Each way must have produced a usable tenant: its tables and migration records."""
    from django.db import connection

    from activity.models import AuditEvent
    from tenants.schema_template import quote

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f"{quote(schema)}.{AuditEvent._meta.db_table}"])
        assert cursor.fetchone()[0] is not None, f"{schema} has no {AuditEvent._meta.db_table}"
        cursor.execute(f"SELECT count(*) FROM {quote(schema)}.django_migrations")
        assert cursor.fetchone()[0] > 0, f"{schema} has no migration records"


if __name__ == "__main__":
    main()
