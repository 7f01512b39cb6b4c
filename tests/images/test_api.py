"""PUT /api/v1/organization/logo/ and /api/v1/me/avatar/: multipart uploads, problems on bad files."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from django_tenants.utils import schema_context

from activity.models import AuditAction, AuditEvent
from images.models import Avatar, ImageKind, Logo
from images.services import thumbnails_make_for
from tests.api.conftest import Api, problem_of
from tests.conftest import host_of
from tests.images.conftest import bomb_png, image_bytes

pytestmark = pytest.mark.django_db
LOGO = "/api/v1/organization/logo/"
AVATAR = "/api/v1/me/avatar/"


def put_form(api: Api, path: str, fields: dict):
    return api.client.put(
        path, encode_multipart(BOUNDARY, fields), content_type=MULTIPART_CONTENT, headers=api._headers({})
    )


def put_image(api: Api, path: str, content: bytes, name: str = "image.png"):
    return put_form(api, path, {"image": SimpleUploadedFile(name, content)})


def test_an_admin_key_uploads_the_logo_and_reads_it_ready(tenant, owner, make_key):
    api = Api(host_of(tenant), make_key("organization:write"))
    assert api.get(LOGO).json() == {"status": "none", "thumbnails": {}}
    response = put_image(api, LOGO, image_bytes())
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "processing", "thumbnails": {}}
    logo = Logo.objects.get(tenant=tenant)
    with schema_context(tenant.schema_name):
        event = AuditEvent.objects.get(action=AuditAction.TENANT_LOGO_CHANGED)
    assert (event.actor_email, event.data["format"]) == (owner.email, "PNG")

    thumbnails_make_for(kind=ImageKind.LOGO, owner_id=tenant.pk, version=logo.version)
    ready = api.get(LOGO).json()
    assert ready["status"] == "ready"
    assert ready["thumbnails"] == {
        str(size): f"/media/images/logo/{tenant.pk}/{logo.version}/{size}.webp" for size in (32, 64, 128, 256)
    }


def test_a_renamed_text_file_is_a_problem_naming_the_image_field(tenant, make_key):
    api = Api(host_of(tenant), make_key("organization:write"))
    response = put_image(api, LOGO, b"just words, really", name="logo.png")
    assert response.status_code == 400
    assert problem_of(response)["errors"] == [
        {
            "field": "image",
            "code": "not_an_image",
            "detail": "This file is not an image: its contents are not PNG, JPEG, WebP or GIF.",
        }
    ]
    assert not Logo.objects.exists()


def test_a_bomb_and_a_missing_file_are_field_errors_too(tenant, make_key):
    api = Api(host_of(tenant), make_key("organization:write"))
    bomb = problem_of(put_image(api, LOGO, bomb_png(30000, 30000)))
    assert (bomb["errors"][0]["field"], bomb["errors"][0]["code"]) == ("image", "decompression_bomb")
    missing = problem_of(put_form(api, LOGO, {"name": "no file here"}))
    assert (missing["errors"][0]["field"], missing["errors"][0]["code"]) == ("image", "required")


def test_json_is_415_and_a_body_over_the_request_limit_413(tenant, make_key, settings):
    api = Api(host_of(tenant), make_key("organization:write"))
    assert problem_of(api.send("put", LOGO, {"image": "aGk="}))["status"] == 415
    huge = b"\x89PNG" + b"\x00" * settings.REQUEST_BODY_MAX_BYTES
    assert problem_of(put_image(api, LOGO, huge))["status"] == 413
    assert not Logo.objects.exists()


def test_scopes_and_roles(tenant, member_of, make_key):
    reader = Api(host_of(tenant), make_key("organization:read"))
    assert reader.get(LOGO).status_code == 200
    assert problem_of(put_image(reader, LOGO, image_bytes()))["code"] == "scope_missing"

    avatar_key = Api(host_of(tenant), make_key("profile:write"))
    assert put_image(avatar_key, AVATAR, image_bytes()).status_code == 202
    assert Avatar.objects.get().user.memberships.get().role == "owner"  # a key acts as its creator

    member = member_of(tenant, role="member")
    session = Client(HTTP_HOST=host_of(tenant))
    session.force_login(member)
    as_member = Api(host_of(tenant), client=session)
    assert problem_of(put_image(as_member, LOGO, image_bytes()))["code"] == "role_too_low"
    assert put_image(as_member, AVATAR, image_bytes()).status_code == 202
    assert as_member.get(AVATAR).json()["status"] == "processing"
    assert Avatar.objects.filter(user=member).exists()
    assert not Logo.objects.exists()
