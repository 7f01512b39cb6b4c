"""The Celery application. Tasks carry the tenant schema in their headers (tenant-schemas-celery)
and refuse to run without a schema they may run in (saas/tasking.py)."""

import os

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.observability import connect_celery_signals


class SaasCeleryApp(CeleryApp):
    task_cls = "saas.tasking:TenantBoundTask"


app = SaasCeleryApp("saas")
connect_celery_signals()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
