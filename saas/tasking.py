"""Celery tasks that run in the schema they were sent from, or not at all.

tenant-schemas-celery stamps the sender's schema into each message's headers
(`_schema_name`) and switches to it in a `task_prerun` receiver. Two of its behaviours would
run a task in the wrong place, so every task of this project (the app's base class,
config/celery.py) checks again before its body runs:

- a message without the header (sent by another program, or by code that built its own
  headers) is switched to public, silently;
- a schema whose tenant no longer exists makes the receiver raise, Celery logs and swallows
  receiver errors, and the task then runs in whatever schema the worker's connection held.

Here a task declares where it may run (`schema_scope`): `tenant` (the default: an existing
tenant's schema, never public), `public` (beat sweeps and other cross-tenant work, always in
public whatever the header says) or `recorded` (deliveries, which record the schema of their
event, public included). A message that does not satisfy its task is rejected (not retried,
not requeued) with one log line saying why.

Beat work that concerns every tenant goes through `tenant_fan_out`: one message per tenant,
each with a headers dict of its own. Reusing one headers object across the loop is the trap
of tenant-schemas-celery #170/#171: the first tenant's schema rides along into the next
tenants' messages, since a header already present is never overwritten.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import structlog
from celery import Task
from celery.exceptions import Reject
from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL
from django_tenants.utils import get_public_schema_name, get_tenant_model
from tenant_schemas_celery.task import TenantTask

logger = structlog.get_logger(__name__)

SCHEMA_HEADER = "_schema_name"
_SCHEMA_PRESENT = "EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = %s)"


class SchemaScope(StrEnum):
    TENANT = "tenant"
    PUBLIC = "public"
    RECORDED = "recorded"


class TaskRefused(Reject):
    """The message names no schema this task may run in; it is dropped, not retried."""


def message_schema(task: Task) -> str | None:
    """The schema a message was sent from, as tenant-schemas-celery reads it (None: no header)."""
    request = task.request
    headers = request.headers or {}
    schema = headers.get(SCHEMA_HEADER) or request.get(SCHEMA_HEADER)
    return str(schema) if schema else None


class TenantBoundTask(TenantTask):
    """The base of every task: enters the message's schema or refuses to run (module docstring)."""

    abstract = True
    schema_scope: SchemaScope = SchemaScope.TENANT

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        public = get_public_schema_name()
        if self.schema_scope == SchemaScope.PUBLIC:
            connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants
            return
        schema = message_schema(self)
        if schema is None:
            self._refuse(task_id, schema, "the message carries no tenant schema header")
        if schema == public:
            if self.schema_scope == SchemaScope.TENANT:
                self._refuse(task_id, schema, "sent from the public schema; this task runs only in a tenant")
            connection.set_schema_to_public()  # type: ignore[attr-defined]
            return
        # A fresh read (tenants live in public, on every search path), not tenant-schemas-celery's
        # cache: a deleted tenant must stop its tasks at once. The schema itself is checked in
        # the same query: a tenant row whose schema was dropped (by hand, or a partial restore)
        # would otherwise put a missing schema on the search path and fail every query.
        tenant = (
            get_tenant_model()
            .objects.filter(schema_name=schema)
            .alias(schema_present=RawSQL(_SCHEMA_PRESENT, [schema], output_field=BooleanField()))  # noqa: S611 (a constant, the schema a bound parameter)
            .filter(schema_present=True)
            .first()
        )
        if tenant is None:
            self._refuse(task_id, schema, "its tenant schema no longer exists")
        connection.set_tenant(tenant)  # type: ignore[attr-defined]

    def _refuse(self, task_id: str, schema: str | None, reason: str) -> None:
        # Never left in a tenant's schema by a refused message (the next task checks anyway).
        connection.set_schema_to_public()  # type: ignore[attr-defined]
        logger.error("task refused", task=self.name, task_id=task_id, schema=schema, reason=reason)
        raise TaskRefused(reason, requeue=False)


def tenant_schemas() -> list[str]:
    """Every tenant's schema name (public excluded), read in public."""
    return list(
        get_tenant_model()
        .objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )


def tenant_fan_out(task: Task, *, kwargs: dict[str, Any] | None = None) -> int:
    """Enqueue `task` once in every tenant's schema, each message with headers of its own."""
    schemas = tenant_schemas()
    for schema in schemas:
        task.apply_async(kwargs=dict(kwargs or {}), headers={SCHEMA_HEADER: schema})
    return len(schemas)
