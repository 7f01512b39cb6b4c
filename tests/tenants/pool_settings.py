"""The test settings with Django's psycopg connection pool (as under ASGI), one connection."""

from config.settings_test import *  # noqa: F403
from config.settings_test import DATABASES

DATABASES["default"]["CONN_MAX_AGE"] = 0
DATABASES["default"]["OPTIONS"] = {
    **DATABASES["default"].get("OPTIONS", {}),
    "pool": {"min_size": 1, "max_size": 1},
}
