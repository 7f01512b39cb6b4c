"""`python -m devtools.seed [--password P]`: create the demo data unless it exists (idempotent).

Refuses under SAAS_ENVIRONMENT=production: the accounts have published passwords.
"""

from __future__ import annotations

import argparse
import os
import sys

from devtools import DEMO_PASSWORD


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.seed", description=__doc__)
    parser.add_argument(
        "--password",
        default=os.environ.get("SAAS_DEV_PASSWORD", DEMO_PASSWORD),
        help="password for accounts this run creates (default: $SAAS_DEV_PASSWORD or the dev one)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    # Models can be imported only once Django is set up, as manage.py does.
    from django.core.exceptions import ImproperlyConfigured

    from devtools.seed.demo import demo_seed, demo_seed_report

    try:
        seed = demo_seed(password=args.password)
    except ImproperlyConfigured as error:
        print(f"seed: {error}", file=sys.stderr, flush=True)
        return 1
    demo_seed_report(seed, password=args.password, out=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
