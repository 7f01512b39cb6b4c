"""Development and test tooling, never imported by the runtime (config/ and the apps).

`python -m devtools run | test | migrate | manage | seed | bench` is what `make dev`,
`make test`, `make migrate` and `make bench` call: it finds or starts PostgreSQL and Redis
(services.py), then runs Django's processes (commands.py, runner.py). Beside it: the template
database clone of tests and benchmarks (databases.py), starting processes the way the Procfile
does (processes.py), the demo seed (seed/) and the Stripe stand-in (stripe_fake/).
"""

# Fixed, development-only demo credentials (the seed refuses to run in production).
DEMO_SLUG = "demo"
DEMO_NAME = "Demo Company"
DEMO_OWNER_EMAIL = "owner@demo.localhost"
DEMO_ADMIN_EMAIL = "admin@localhost"
DEMO_PASSWORD = "dev-only-password"  # noqa: S105 - published on purpose, dev only
