"""The profile and settings pages: initials until the thumbnail exists, then the picture."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from images.models import Avatar, ImageKind, Logo
from images.services import thumbnails_make_for
from saas.queues import queue_name
from tests.conftest import host_of
from tests.images.conftest import image_bytes

pytestmark = pytest.mark.django_db


def test_the_profile_shows_initials_then_the_avatar(public_client, user):
    user.full_name = "Ada Lovelace"
    user.save(update_fields=["full_name"])
    public_client.force_login(user)
    page = public_client.get("/account/profile/").content.decode()
    assert '<span class="image-placeholder" aria-hidden="true">AD</span>' in page
    assert 'enctype="multipart/form-data"' in page

    answer = public_client.post(
        "/account/profile/avatar/",
        {"image": SimpleUploadedFile("me.jpg", image_bytes(format="JPEG"))},
        follow=True,
    )
    page = answer.content.decode()
    assert "Your picture was uploaded; it appears here in a moment." in page
    assert "Processing the new image" in page and "<img" not in page.split('id="avatar"')[1]

    avatar = Avatar.objects.get(user=user)
    thumbnails_make_for(kind=ImageKind.AVATAR, owner_id=user.pk, version=avatar.version)
    page = public_client.get("/account/profile/").content.decode()
    base = f"/media/images/avatar/{user.pk}/{avatar.version}"
    assert f'<img src="{base}/128.webp" srcset="{base}/256.webp 2x" width="128" height="128" alt="">' in page
    assert "Processing the new image" not in page


def test_the_profile_name_form_still_saves(public_client, user):
    public_client.force_login(user)
    response = public_client.post("/account/profile/", {"full_name": "Grace Hopper"})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.full_name == "Grace Hopper"


def test_an_admin_uploads_the_logo_and_everyone_sees_it_on_settings(tenant, member_of):
    admin = member_of(tenant, role="admin")
    member = member_of(tenant, role="member")
    as_admin = Client(HTTP_HOST=host_of(tenant))
    as_admin.force_login(admin)
    response = as_admin.post(
        "/settings/logo/", {"image": SimpleUploadedFile("logo.webp", image_bytes(format="WEBP"))}
    )
    assert response.status_code == 302
    logo = Logo.objects.get(tenant=tenant)

    as_member = Client(HTTP_HOST=host_of(tenant))
    as_member.force_login(member)
    page = as_member.get("/settings/").content.decode()
    tile = f'data-live="image" data-image-kind="logo" data-image-owner="{tenant.pk}" data-image-size="128"'
    assert tile in page and "Processing the new image" in page
    assert "Owners and admins can change the logo." in page

    thumbnails_make_for(kind=ImageKind.LOGO, owner_id=tenant.pk, version=logo.version)
    page = as_member.get("/settings/").content.decode()
    assert f'src="/media/images/logo/{tenant.pk}/{logo.version}/128.webp"' in page


def test_the_thumbnails_task_goes_to_the_images_queue_in_the_public_schema(
    tenant, member_of, django_capture_on_commit_callbacks
):
    # Uploaded on a tenant host (the request runs in the tenant's schema), the task still says
    # public: avatars and logos are public rows.
    queue = queue_name("images", prefix=settings.CELERY_QUEUE_PREFIX)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(queue)
    admin = member_of(tenant, role="admin")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/settings/logo/", {"image": SimpleUploadedFile("l.png", image_bytes())})
    assert response.status_code == 302
    try:
        queued = [json.loads(raw) for raw in broker.lrange(queue, 0, -1)]
    finally:
        broker.delete(queue)
        broker.close()
    logo = Logo.objects.get(tenant=tenant)
    assert [(m["headers"]["task"], m["headers"]["_schema_name"]) for m in queued] == [
        ("images.thumbnails_make", "public")
    ]
    body = json.loads(base64.b64decode(queued[0]["body"]))
    assert body[1] == {"kind": "logo", "owner_id": tenant.pk, "version": logo.version}
