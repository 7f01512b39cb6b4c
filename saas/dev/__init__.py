"""The development runner: `python -m saas.dev run | test | migrate | manage | bench`.

`make dev` and `make test` call it. It finds or starts PostgreSQL and Redis (see services.py),
then runs Django's processes (see commands.py and runner.py).
"""

# Fixed, development-only demo credentials (`seed_demo` refuses to run in production).
DEMO_SLUG = "demo"
DEMO_NAME = "Demo Company"
DEMO_OWNER_EMAIL = "owner@demo.localhost"
DEMO_ADMIN_EMAIL = "admin@localhost"
DEMO_PASSWORD = "dev-only-password"  # noqa: S105 - published on purpose, dev only
