"""Reads for projects; they run in the tenant's schema, which holds only that tenant's rows."""

from django.db.models import QuerySet

from projects.models import Project


def project_list() -> QuerySet[Project]:
    """The tenant's projects, newest first, each with its owner (one query however many rows)."""
    return Project.objects.select_related("owner")


def project_get(*, project_id: int) -> Project | None:
    """One project of the current tenant, or None (another tenant's ids are simply not here)."""
    return project_list().filter(pk=project_id).first()
