"""Reads: an avatar's or a logo's state and thumbnail URLs, as pages, the API and messages show it."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage

from accounts.models import User
from images.models import SIZES, Avatar, Logo, StoredImage
from tenants.models import Tenant


def image_view(image: StoredImage | None) -> dict[str, Any]:
    """{"status": "none" | "processing" | "ready", "thumbnails": {"32": url, ...} once ready}."""
    if image is None:
        return {"status": "none", "thumbnails": {}}
    if image.ready_at is None:
        return {"status": "processing", "thumbnails": {}}
    return {
        "status": "ready",
        "thumbnails": {str(size): default_storage.url(image.thumbnail_name(size)) for size in SIZES},
    }


def avatar_get(*, user: User) -> Avatar | None:
    return Avatar.objects.filter(user=user).first()


def logo_get(*, tenant: Tenant) -> Logo | None:
    return Logo.objects.filter(tenant=tenant).first()
