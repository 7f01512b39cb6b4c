"""The test settings plus one tenant app and one shared app with migrations of their own.

Used only by processes that tests/tenants/test_migration.py starts on a database of their own.
"""

from config.settings_test import *  # noqa: F403
from config.settings_test import SHARED_APPS, TENANT_APPS

SHARED_APPS = [*SHARED_APPS, "tests.tenants.shared_migration_app"]
TENANT_APPS = [*TENANT_APPS, "tests.tenants.migration_app"]
INSTALLED_APPS = SHARED_APPS + [app for app in TENANT_APPS if app not in SHARED_APPS]
