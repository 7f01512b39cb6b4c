"""Avatars (one per user) and logos (one per organization): public-schema rows naming stored files.

Each upload gets a new random `version`; its files live under `images/<kind>/<owner>/<version>/`
(the checked original and one square WebP per size in SIZES). `ready_at` is set once that
version's thumbnails exist; until then pages show the placeholder (initials).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

# Square thumbnail sides in pixels: the user menu and top bar draw 32 (64 on 2x screens), the
# profile and settings pages 128 (256 on 2x screens).
SIZES = (32, 64, 128, 256)


class ImageKind(models.TextChoices):
    AVATAR = "avatar", "Avatar"
    LOGO = "logo", "Logo"


class StoredImage(models.Model):
    version = models.CharField(max_length=32)
    original = models.CharField(max_length=255)  # the storage name of the checked upload
    format = models.CharField(max_length=8)  # PNG, JPEG, WEBP, GIF (sniffed from the bytes)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)
    ready_at = models.DateTimeField(null=True, blank=True)

    kind: ImageKind

    class Meta:
        abstract = True

    @property
    def owner_id(self) -> int:
        raise NotImplementedError

    def thumbnail_name(self, size: int) -> str:
        return thumbnail_name(kind=self.kind, owner_id=self.owner_id, version=self.version, size=size)


def folder_name(*, kind: str, owner_id: int) -> str:
    return f"images/{kind}/{owner_id}"


def thumbnail_name(*, kind: str, owner_id: int, version: str, size: int) -> str:
    return f"{folder_name(kind=kind, owner_id=owner_id)}/{version}/{size}.webp"


class Avatar(StoredImage):
    """A person's picture, the same in every organization."""

    kind = ImageKind.AVATAR
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="avatar")

    def __str__(self) -> str:
        return f"avatar of user {self.user_id}"

    @property
    def owner_id(self) -> int:
        return self.user_id


class Logo(StoredImage):
    """An organization's logo."""

    kind = ImageKind.LOGO
    tenant = models.OneToOneField("tenants.Tenant", on_delete=models.CASCADE, related_name="logo")

    def __str__(self) -> str:
        return f"logo of tenant {self.tenant_id}"

    @property
    def owner_id(self) -> int:
        return self.tenant_id
