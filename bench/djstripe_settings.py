"""Bench only: the regular settings with dj-stripe's own webhook view on the public host."""

from config.settings import *  # noqa: F403

PUBLIC_SCHEMA_URLCONF = "bench.djstripe_urls"
