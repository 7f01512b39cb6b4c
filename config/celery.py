"""The Celery application. Tasks carry the tenant schema in their headers (tenant-schemas-celery)
and refuse to run without a schema they may run in (saas/tasking.py)."""

import os
from functools import cached_property
from typing import Any

from tenant_schemas_celery.app import CeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.observability import connect_celery_signals


class SaasCeleryApp(CeleryApp):
    task_cls = "saas.tasking:TenantBoundTask"

    # The programs `celery worker` and `celery beat` run: their own output as log lines.
    @cached_property
    def Worker(self) -> Any:
        return self.subclass_with_self("saas.celery_programs:Worker")

    @cached_property
    def Beat(self) -> Any:
        return self.subclass_with_self("saas.celery_programs:Beat")


app = SaasCeleryApp("saas")
connect_celery_signals()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
