"""Many tenants quickly, for benchmarks and migration tests: rows, domains and template copies.

    .venv/bin/python -m devtools.tenants_bulk 1000 [--prefix bulk]

Not `tenant_provision` one by one: that also writes the audit row and the billing account and
commits each tenant; here 100 tenants share a transaction (the schemas are the same template
copy sign-up makes, which is what a migration run cares about).
"""

from __future__ import annotations

import argparse
import os
import time


def tenants_create(count: int, *, prefix: str = "bulk", per_transaction: int = 100) -> list[str]:
    """Create `count` tenants `<prefix>0..` (Django set up by the caller); their schema names."""
    from django.db import transaction

    from tenants.models import Domain, Tenant
    from tenants.schema_template import schema_copy_template
    from tenants.services import tenant_domain_for_slug
    from tenants.validators import schema_name_for

    names: list[str] = []
    for offset in range(0, count, per_transaction):
        with transaction.atomic():
            tenants = Tenant.objects.bulk_create(
                Tenant(
                    name=f"{prefix}{index}",
                    slug=f"{prefix}{index}",
                    schema_name=schema_name_for(f"{prefix}{index}"),
                )
                for index in range(offset, min(count, offset + per_transaction))
            )
            for tenant in tenants:
                schema_copy_template(schema_name=tenant.schema_name)
            Domain.objects.bulk_create(
                Domain(tenant=tenant, domain=tenant_domain_for_slug(tenant.slug), is_primary=True)
                for tenant in tenants
            )
        names.extend(tenant.schema_name for tenant in tenants)
    return names


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("count", type=int)
    parser.add_argument("--prefix", default="bulk")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    started = time.perf_counter()
    tenants_create(args.count, prefix=args.prefix)
    print(f"{args.count} tenants in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
