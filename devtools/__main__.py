"""`python -m devtools run | test | migrate | manage | seed | bench` (see devtools/__init__.py)."""

from __future__ import annotations

import argparse
import signal
import sys

from devtools.processes import REPO_DIR
from devtools.services import ServiceError


def _stop_on_sigterm(_signum: int, _frame: object) -> None:
    # Unwind like Ctrl-C so that embedded services started so far are stopped.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="services, migrations, demo data, then web + worker + beat")
    run.add_argument("--port", type=int, default=8000, help="web port on 127.0.0.1 (default 8000)")
    run.add_argument(
        "--no-reload",
        dest="reload",
        action="store_false",
        help="do not restart the web process when Python files change",
    )
    commands.add_parser(
        "test", help="pytest (one xdist worker per CPU) against the services; extra arguments go to pytest"
    )
    commands.add_parser("migrate", help="manage.py migrate_schemas against the services")
    commands.add_parser("manage", help="any manage.py command against the services")
    commands.add_parser(
        "seed", help="the demo tenant, its owner and a staff user, unless they exist (development only)"
    )
    commands.add_parser(
        "bench",
        help="run every bench/ script (or the ones named) against the services and rewrite "
        "docs/benchmarks.md's generated section; --quick shortens each, --no-doc skips the document",
    )
    args, rest = parser.parse_known_args(argv)
    if rest and args.command not in ("test", "manage", "seed", "bench"):
        parser.error(f"unrecognized arguments: {' '.join(rest)}")

    import environ

    # The same .env the settings read, with the same precedence (the environment wins), so a
    # DATABASE_URL written there is used instead of the embedded server.
    environ.Env.read_env(REPO_DIR / ".env", overwrite=False)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)

    from devtools import commands as dev

    try:
        if args.command == "run":
            return dev.command_run(port=args.port, reload=args.reload)
        if args.command == "test":
            return dev.command_test(rest)
        if args.command == "migrate":
            return dev.command_migrate()
        if args.command == "seed":
            return dev.command_seed(rest)
        if args.command == "bench":
            return dev.command_bench(rest)
        return dev.command_manage(rest)
    except ServiceError as error:
        print(f"dev: {error}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("dev: interrupted", file=sys.stderr, flush=True)
        return 130


if __name__ == "__main__":
    sys.exit(main())
