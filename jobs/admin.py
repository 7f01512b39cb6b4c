"""Jobs in the admin (public host, staff): pick an organization, see its jobs, re-run failed ones.

Jobs live in each tenant's schema and the admin serves the public host, so the list is served
at `/admin/jobs/job/in/<schema>/` inside that schema (rendered there, before the schema is
left); `/admin/jobs/job/` lists the organizations to choose from.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path
from django_tenants.utils import get_public_schema_name, schema_context

from jobs.models import Job
from jobs.services import JobRefused, job_rerun
from saas.schemas import current_schema
from saas.tasking import tenant_schemas


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "status",
        "progress",
        "rows",
        "attempts",
        "requested_by_id",
        "created_at",
        "error",
    ]
    list_filter = ["status", "kind"]
    list_display_links = None
    actions = ["rerun_failed"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        tenant_list = self.admin_site.admin_view(self.tenant_changelist_view)
        return [path("in/<str:schema>/", tenant_list, name="jobs_job_tenant"), *super().get_urls()]

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        if current_schema() == get_public_schema_name():  # no jobs here: choose an organization
            context = {**self.admin_site.each_context(request), "title": "Jobs: choose an organization"}
            context["schemas"] = tenant_schemas()
            return TemplateResponse(request, "admin/jobs/choose_tenant.html", context)
        return super().changelist_view(request, extra_context)

    def tenant_changelist_view(self, request: HttpRequest, schema: str) -> HttpResponse:
        if schema not in tenant_schemas():
            raise Http404("No such organization.")
        with schema_context(schema):
            response = self.changelist_view(request, {"title": f"Jobs of {schema}"})
            if isinstance(response, TemplateResponse):
                response.render()  # its queries must run in the tenant's schema
        return response

    @admin.action(description="Run the selected failed jobs again")
    def rerun_failed(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        queued = 0
        for job in queryset:
            try:
                job_rerun(job_id=job.pk)
                queued += 1
            except JobRefused as refused:
                self.message_user(request, str(refused), messages.WARNING)
        if queued:
            self.message_user(request, f"{queued} job(s) queued again.", messages.SUCCESS)
