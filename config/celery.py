"""The Celery application. Tasks carry the tenant schema in their headers (tenant-schemas-celery)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.observability import connect_celery_signals

app = CeleryApp("saas")
connect_celery_signals()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
