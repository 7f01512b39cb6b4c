"""The demo data `make dev` starts with: `python -m devtools seed` (services found or started)
or `python -m devtools.seed` (against the configured database). See demo.py.
"""
