"""Bad files get a clear message on the field, and nothing is stored (issue 13, bad input)."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from images.models import Avatar, Logo
from tests.conftest import host_of
from tests.images.conftest import bomb_png, image_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(public_client, user):
    public_client.force_login(user)
    return public_client


def upload_avatar(client: Client, name: str, content: bytes, content_type: str = "image/png"):
    return client.post(
        "/account/profile/avatar/", {"image": SimpleUploadedFile(name, content, content_type=content_type)}
    )


def field_errors(response) -> str:
    assert response.status_code == 400, response.status_code
    page = response.content.decode()
    assert 'id="id_image_error"' in page  # under the image field
    return page


def test_a_renamed_text_file_is_refused_with_a_field_message(signed_in, media_root):
    response = upload_avatar(signed_in, "holiday.png", b"Dear diary, today I renamed a text file.\n")
    assert "This file is not an image: its contents are not PNG, JPEG, WebP or GIF." in field_errors(response)
    assert not Avatar.objects.exists()
    assert not media_root.exists() or not any(media_root.rglob("*.*"))


def test_a_decompression_bomb_png_is_refused(signed_in):
    bomb = bomb_png(30000, 30000)  # 900 megapixels in about 100 kB
    assert len(bomb) < 200_000
    response = upload_avatar(signed_in, "bomb.png", bomb)
    assert "decompression bomb" in field_errors(response)
    assert not Avatar.objects.exists()


def test_an_image_over_the_pixel_limit_is_refused(signed_in, settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    response = upload_avatar(signed_in, "wide.png", bomb_png(2000, 1000))
    assert "The image is 2000 x 1000 pixels (2 megapixels); the limit is 1 megapixels." in field_errors(
        response
    )


def test_a_file_over_the_size_limit_is_refused_before_it_is_decoded(signed_in, settings):
    settings.IMAGE_UPLOAD_MAX_BYTES = 1024 * 1024
    big = image_bytes((64, 64)) + b"\x00" * (1024 * 1024)  # a PNG with trailing bytes: decodable
    response = upload_avatar(signed_in, "big.png", big)
    assert "The file is 1.1 MB; images may be at most 1 MB." in field_errors(response)
    assert not Avatar.objects.exists()


def test_a_50_mb_upload_through_the_test_client_is_a_field_error_not_a_500(signed_in):
    # The test client skips the servers' body limit (saas.request_limits, a 413 there: see
    # tests/e2e/test_images_worker.py); the form's own size check still answers.
    response = upload_avatar(signed_in, "huge.jpg", b"\xff\xd8" + b"\x00" * (50 * 1024 * 1024 - 2))
    assert "The file is 50 MB; images may be at most 4 MB." in field_errors(response)


def test_other_image_types_and_damaged_files_are_named(signed_in):
    out = io.BytesIO()
    Image.new("RGB", (10, 10)).save(out, format="BMP")
    assert "BMP images are not accepted; use PNG, JPEG, WebP or GIF." in field_errors(
        upload_avatar(signed_in, "a.bmp", out.getvalue())
    )
    truncated = image_bytes((200, 200), format="JPEG")[:400]
    assert "The image file is damaged or incomplete." in field_errors(
        upload_avatar(signed_in, "a.jpg", truncated)
    )
    assert "The submitted file is empty." in field_errors(upload_avatar(signed_in, "empty.png", b""))


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_each_accepted_type_is_stored_under_the_type_its_bytes_say(signed_in, user, fmt, media_root):
    # The name and declared type lie; the stored original is named by what the bytes are.
    response = upload_avatar(signed_in, "picture.txt", image_bytes(format=fmt), content_type="text/plain")
    assert response.status_code == 302
    avatar = Avatar.objects.get(user=user)
    extension = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}[fmt]
    assert (avatar.format, avatar.width, avatar.height) == (fmt, 300, 200)
    assert avatar.original.endswith(f"/original.{extension}")
    assert (media_root / avatar.original).read_bytes() == image_bytes(format=fmt)


def test_only_owners_and_admins_upload_the_logo(tenant, member_of):
    member = member_of(tenant, role="member")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(member)
    response = client.post("/settings/logo/", {"image": SimpleUploadedFile("l.png", image_bytes())})
    assert response.status_code == 403
    assert not Logo.objects.exists()


def test_a_bad_logo_is_a_field_message_on_the_settings_page(tenant, member_of):
    admin = member_of(tenant, role="admin")
    client = Client(HTTP_HOST=host_of(tenant))
    client.force_login(admin)
    response = client.post(
        "/settings/logo/", {"image": SimpleUploadedFile("logo.png", b"<svg>not png</svg>")}
    )
    page = field_errors(response)
    assert "This file is not an image" in page
    assert 'id="logo"' in page  # the settings page itself, with its other sections
    assert not Logo.objects.exists()
