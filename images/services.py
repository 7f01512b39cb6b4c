"""Writes: store a checked avatar or logo, and make its thumbnails (called by the worker).

The original is written to storage before the row, inside the transaction: a rollback leaves
at most an unreferenced file, never a row naming a file that is not there. The thumbnails
task is enqueued on commit and runs in the public schema (avatars and logos are public rows).
"""

from __future__ import annotations

import secrets

from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from activity.models import AuditAction
from activity.services import audit_record
from images.checks import CheckedImage
from images.models import SIZES, Avatar, ImageKind, Logo, StoredImage, folder_name
from images.selectors import image_view
from images.tasks import thumbnails_make
from images.thumbnails import file_put, folder_delete_except, thumbnails_render
from realtime.messages import IMAGE_READY
from saas.broadcast import broadcast_on_commit, tenant_stream, user_stream
from tenants.models import Tenant


def _store(row: StoredImage, *, kind: str, owner_id: int, image: CheckedImage) -> None:
    row.version = secrets.token_hex(8)
    row.original = f"{folder_name(kind=kind, owner_id=owner_id)}/{row.version}/original.{image.extension}"
    row.format, row.width, row.height = image.format, image.width, image.height
    row.uploaded_at, row.ready_at = timezone.now(), None
    file_put(row.original, image.content)
    row.full_clean(exclude=["user", "tenant"])
    row.save()
    kwargs = {"kind": kind, "owner_id": owner_id, "version": row.version}
    # Explicitly public: the request may run in a tenant's schema (a logo, an avatar sent from
    # a tenant host), but these rows and files belong to no tenant.
    transaction.on_commit(
        lambda: thumbnails_make.apply_async(kwargs=kwargs, headers={"_schema_name": "public"}), robust=True
    )


@transaction.atomic
def avatar_set(*, user: User, image: CheckedImage) -> Avatar:
    """Make `image` the person's avatar; its thumbnails follow from the worker."""
    # The person's row locked first: two uploads at once (a double click) take turns instead of
    # both finding no avatar and one failing on the unique user.
    User.objects.select_for_update(no_key=True).filter(pk=user.pk).values_list("pk").get()
    avatar = Avatar.objects.filter(user=user).first() or Avatar(user=user)
    _store(avatar, kind=ImageKind.AVATAR, owner_id=user.pk, image=image)
    return avatar


@transaction.atomic
def logo_set(*, actor: User, tenant: Tenant, image: CheckedImage) -> Logo:
    """Make `image` the organization's logo (owners and admins; the caller's guard checked)."""
    # As for avatars: concurrent uploads take turns on the organization's row.
    Tenant.objects.select_for_update(no_key=True).filter(pk=tenant.pk).values_list("pk").get()
    logo = Logo.objects.filter(tenant=tenant).first() or Logo(tenant=tenant)
    previous = logo.version or None
    _store(logo, kind=ImageKind.LOGO, owner_id=tenant.pk, image=image)
    with schema_context(tenant.schema_name):
        audit_record(
            action=AuditAction.TENANT_LOGO_CHANGED,
            actor=actor,
            target=tenant.slug,
            data={"format": image.format, "width": image.width, "height": image.height},
            changes={"version": [previous, logo.version]},
        )
    return logo


@transaction.atomic
def thumbnails_make_for(*, kind: str, owner_id: int, version: str) -> bool:
    """Make the thumbnails of one upload; False when it was replaced or is already done.

    Safe to run twice: the files of a version have fixed names and are rewritten, and only
    the run that marks the version ready announces it.
    """
    model: type[Avatar] | type[Logo] = Avatar if kind == ImageKind.AVATAR else Logo
    owner_field = "user_id" if kind == ImageKind.AVATAR else "tenant_id"
    row = model.objects.select_for_update().filter(**{owner_field: owner_id}, version=version).first()
    if row is None or row.ready_at is not None:
        return False
    with default_storage.open(row.original, "rb") as original:
        content = original.read()
    for size, data in thumbnails_render(content=content, sizes=SIZES).items():
        file_put(row.thumbnail_name(size), data)
    row.ready_at = timezone.now()
    row.save(update_fields=["ready_at"])
    folder = folder_name(kind=kind, owner_id=owner_id)
    transaction.on_commit(lambda: folder_delete_except(folder=folder, keep=version), robust=True)
    message = {"type": IMAGE_READY, "kind": kind, "owner_id": owner_id, **image_view(row)}
    if isinstance(row, Logo):
        broadcast_on_commit(tenant_stream(row.tenant.schema_name), message)
    else:
        # The person's own sockets, on every organization's pages they are signed in to.
        schemas = Membership.objects.filter(user_id=owner_id).values_list("tenant__schema_name", flat=True)
        for schema in schemas:
            broadcast_on_commit(user_stream(schema, owner_id), message)
    return True
