"""`migrate_schemas` at scale: ours (tenants.migration) against django-tenants' default executor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/saas REDIS_URL=redis://127.0.0.1:6379/1 \\
        .venv/bin/python bench/migrations.py [--tenants 1000] [--djt-tenants 20]

In a throwaway database (devtools.databases) with `--tenants` tenants (devtools.tenants_bulk:
template copies, as sign-up makes them), each figure the wall time of one `manage.py
migrate_schemas --noinput` process, public schema and start-up included (what a release runs):

- noop:          nothing to apply;
- one migration: a nullable column and an index on activity's AuditEvent, in a migration
                 written for the run into a temporary copy of activity's migrations
                 (MIGRATION_MODULES in a temporary settings module; both deleted after).

django-tenants' default executor (`--executor=standard`: Django's whole `migrate` per schema)
does the same in a second throwaway database with `--djt-tenants` tenants; its figures are
scaled to `--tenants`: the public schema's part as measured (a `--shared` run), the rest
linearly in schemas (it costs the same per schema); both measured and scaled are printed.

Targets at 1,000 tenants: noop < 10 s, one migration < 60 s. The last line printed is JSON:
{"tenants": N, "noop_s": .., "one_migration_s": .., "djt_noop_s": .., "djt_one_migration_s": ..}
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import PYTHON, REPO, base_environment, server_url

from devtools.databases import throwaway_database

TARGETS = {"noop_s": 10.0, "one_migration_s": 60.0}  # at 1,000 tenants

_MIGRATION = """from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("activity", "{leaf}")]
    operations = [
        migrations.AddField(
            model_name="auditevent",
            name="bench_note",
            field=models.CharField(max_length=40, null=True, db_index=True),
        ),
    ]
"""


def one_migration_settings(directory: Path) -> str:
    """A settings module whose activity migrations end with one more: its dotted name."""
    package = directory / "bench_migration_tmp"
    migrations = package / "activity_migrations"
    shutil.copytree(
        REPO / "activity" / "migrations", migrations, ignore=shutil.ignore_patterns("__pycache__")
    )
    leaf = max(path.stem for path in migrations.glob("[0-9][0-9][0-9][0-9]_*.py"))
    number = int(leaf[:4]) + 1
    (migrations / f"{number:04d}_bench_note.py").write_text(_MIGRATION.format(leaf=leaf))
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "from config.settings import *  # noqa: F403\n\n"
        'MIGRATION_MODULES = {"activity": "bench_migration_tmp.activity_migrations"}\n'
    )
    return "bench_migration_tmp.settings"


def record_shared_migrations_in_template(database_url: str) -> None:
    """What django-tenants' executor would have recorded in the template: every app's migrations.

    Ours records only the tenant apps' in tenant schemas; Django's `migrate` (which
    django-tenants runs per schema) checks that each applied migration's dependencies are
    recorded too, and would refuse the copies of a template ours migrated.
    """
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            "INSERT INTO tenant_template.django_migrations (app, name, applied) "
            "SELECT app, name, applied FROM public.django_migrations p WHERE NOT EXISTS ("
            "SELECT 1 FROM tenant_template.django_migrations t WHERE t.app = p.app AND t.name = p.name)"
        )


def timed(argv: list[str], env: dict[str, str], label: str) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{label} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    summary = [line for line in done.stdout.splitlines() if line.startswith("tenant schemas:")]
    print(f"  {label:<38} {seconds:8.1f} s  {summary[-1] if summary else ''}", flush=True)
    return seconds


def measure(
    *, tenants: int, executor: str | None, settings_module: str, extra_path: Path
) -> tuple[float, float, float]:
    """Create the tenants, then time a no-op run and a run with one new migration.

    Also the public schema alone (start-up and Django's migrate in public, what a run costs
    before any tenant schema), which the scaling of django-tenants' figures keeps fixed.
    """
    migrate = [PYTHON, "manage.py", "migrate_schemas", "--noinput"]
    if executor:
        migrate.append(f"--executor={executor}")
    with throwaway_database(server_url(), env=base_environment(), prefix="saas_bench_mig") as database_url:
        env = base_environment(
            DATABASE_URL=database_url, PYTHONPATH=f"{REPO}{os.pathsep}{extra_path}", CONN_MAX_AGE="0"
        )
        if executor:
            record_shared_migrations_in_template(database_url)
        started = time.perf_counter()
        created = subprocess.run(
            [PYTHON, "-m", "devtools.tenants_bulk", str(tenants)],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0:
            sys.exit(f"creating tenants failed:\n{created.stderr[-3000:]}")
        print(f"  {tenants} tenants created in {time.perf_counter() - started:.1f} s", flush=True)
        name = executor or "ours"
        public = timed([*migrate, "--shared"], env, f"{name}: public schema only")
        noop = timed(migrate, env, f"{name}: noop")
        one = timed(migrate, {**env, "DJANGO_SETTINGS_MODULE": settings_module}, f"{name}: one migration")
        timed(migrate, {**env, "DJANGO_SETTINGS_MODULE": settings_module}, f"{name}: noop after it")
    return public, noop, one


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tenants", type=int, default=1000, help="tenants for ours (default 1000)")
    parser.add_argument(
        "--djt-tenants",
        type=int,
        default=20,
        help="tenants for django-tenants' executor, scaled (default 20)",
    )
    args = parser.parse_args()
    workers = os.environ.get("MIGRATION_WORKERS", "4 (default)")

    with tempfile.TemporaryDirectory(prefix="bench-migrations-") as directory:
        settings_module = one_migration_settings(Path(directory))
        print(f"ours, {args.tenants} tenants, MIGRATION_WORKERS={workers}:", flush=True)
        _, noop, one = measure(
            tenants=args.tenants, executor=None, settings_module=settings_module, extra_path=Path(directory)
        )
        print(f"django-tenants --executor=standard, {args.djt_tenants} tenants:", flush=True)
        djt_public, djt_noop, djt_one = measure(
            tenants=args.djt_tenants,
            executor="standard",
            settings_module=settings_module,
            extra_path=Path(directory),
        )

    # Per schema, django-tenants' cost is flat: the public part stays, the rest scales with the
    # schemas (the template is one too).
    scale = (args.tenants + 1) / (args.djt_tenants + 1)

    def scaled(seconds: float) -> float:
        return djt_public + max(0.0, seconds - djt_public) * scale

    figures = {
        "tenants": args.tenants,
        "noop_s": round(noop, 2),
        "one_migration_s": round(one, 2),
        "djt_noop_s": round(scaled(djt_noop), 1),
        "djt_one_migration_s": round(scaled(djt_one), 1),
    }
    print()
    print(
        f"{'':<16} {'ours s':>9} {'django-tenants s':>17}  "
        f"(django-tenants: measured on {args.djt_tenants} tenants,"
    )
    print(
        f"{'':<16} {'':>9} {'':>17}   {djt_noop:.1f} s and {djt_one:.1f} s; beyond the {djt_public:.1f} s "
        f"of the public schema, scaled x{scale:.1f})"
    )
    print(f"{'noop':<16} {noop:>9.1f} {figures['djt_noop_s']:>17.1f}")
    print(f"{'one migration':<16} {one:>9.1f} {figures['djt_one_migration_s']:>17.1f}")
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    verdicts = []
    for key, limit in TARGETS.items():
        if args.tenants >= 1000:
            verdicts.append(f"{key} < {limit:.0f} s at 1,000: {'met' if figures[key] < limit else 'MISSED'}")
        else:
            verdicts.append(f"{key} < {limit:.0f} s at 1,000: not measured (ran {args.tenants} tenants)")
    print("; ".join(verdicts) + f"; load/core {load:.2f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
