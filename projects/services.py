"""Writes for projects: each is one transaction that writes its audit row beside the change.

They run in the tenant's schema (the request's, or `schema_context` in a task). `tenant` is
passed explicitly because an owner must be a member of it, which lives in public.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Membership, User
from activity.models import AuditAction
from activity.services import audit_record
from projects.errors import ProjectError, ProjectVersionConflict
from projects.models import Project
from tenants.models import Tenant

EDITABLE_FIELDS = ("name", "description", "status", "owner")


def _check_owner(*, tenant: Tenant, owner: User | None) -> None:
    if owner is not None and not Membership.objects.filter(tenant=tenant, user_id=owner.pk).exists():
        raise ProjectError("The owner must be a member of the organization.", code="owner", field="owner")


def _audited(project: Project) -> dict[str, Any]:
    """The project's editable fields as the audit row records them (the owner by id)."""
    values: dict[str, Any] = {field: getattr(project, field) for field in EDITABLE_FIELDS if field != "owner"}
    values["owner"] = project.owner_id
    return values


def _full_clean(project: Project) -> None:
    try:
        project.full_clean(exclude=["owner"])  # the owner is checked against memberships instead
    except ValidationError as error:
        field, messages = next(iter(error.message_dict.items()))
        raise ProjectError(" ".join(messages), field=None if field == "__all__" else field) from error


@transaction.atomic
def project_create(
    *,
    tenant: Tenant,
    actor: User,
    name: str,
    description: str = "",
    status: str = Project.Status.PLANNED,
    owner: User | None = None,
) -> Project:
    """Create a project in the current tenant; its owner defaults to the person creating it."""
    owner = owner if owner is not None else actor
    _check_owner(tenant=tenant, owner=owner)
    project = Project(name=name.strip(), description=description, status=status, owner=owner)
    _full_clean(project)
    project.save()
    audit_record(
        action=AuditAction.PROJECT_CREATED,
        actor=actor,
        target=project.name,
        data={"project_id": project.pk},
        changes={field: [None, value] for field, value in _audited(project).items()},
    )
    return project


@transaction.atomic
def project_update(
    *, tenant: Tenant, project: Project, actor: User, expected_version: int | None = None, **changes: Any
) -> Project:
    """Change some of a project's fields; refused if `expected_version` is no longer current."""
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise ProjectError(f"Not editable: {', '.join(sorted(unknown))}.", code="not_editable")
    # The row lock makes check-then-write one step: two updates from the same version cannot
    # both pass the version check.
    project = Project.objects.select_for_update(of=("self",)).select_related("owner").get(pk=project.pk)
    if expected_version is not None and project.version != expected_version:
        raise ProjectVersionConflict(current_version=project.version)
    if "owner" in changes:
        _check_owner(tenant=tenant, owner=changes["owner"])
    if "name" in changes:
        changes["name"] = changes["name"].strip()
    changed = {field: value for field, value in changes.items() if getattr(project, field) != value}
    if not changed:
        return project
    before = _audited(project)
    for field, value in changed.items():
        setattr(project, field, value)
    _full_clean(project)
    project.version += 1
    project.save(update_fields=[*changed, "version", "updated_at"])
    audit_record(
        action=AuditAction.PROJECT_UPDATED,
        actor=actor,
        target=project.name,
        data={"project_id": project.pk, "fields": sorted(changed), "version": project.version},
        changes={
            field: [before[field], after] for field, after in _audited(project).items() if field in changed
        },
    )
    return project


@transaction.atomic
def project_delete(*, project: Project, actor: User, expected_version: int | None = None) -> None:
    """Delete a project; refused if `expected_version` is no longer current."""
    project = Project.objects.select_for_update().get(pk=project.pk)
    if expected_version is not None and project.version != expected_version:
        raise ProjectVersionConflict(current_version=project.version)
    audit_record(
        action=AuditAction.PROJECT_DELETED,
        actor=actor,
        target=project.name,
        data={"project_id": project.pk},
        changes={field: [value, None] for field, value in _audited(project).items()},
    )
    project.delete()
