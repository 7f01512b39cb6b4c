"""Settings for the test suite: the regular settings with SAAS_ENVIRONMENT=test.

pytest-django loads this module; processes the tests start (ASGI server, Celery worker)
inherit DJANGO_SETTINGS_MODULE and so run with the same settings.
"""

import os

os.environ.setdefault("SAAS_ENVIRONMENT", "test")

from config.settings import *  # noqa: E402,F403
