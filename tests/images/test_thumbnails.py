"""The worker's thumbnails: the sizes the templates use, square, center-cropped, no metadata."""

from __future__ import annotations

import io

import pytest
from django.db import transaction
from PIL import Image

from accounts.services import membership_create
from images.checks import image_check
from images.models import SIZES, Avatar, ImageKind
from images.services import avatar_set, logo_set, thumbnails_make_for
from tests.images.conftest import GPS_IFD, image_bytes, jpeg_with_gps, striped_png

pytestmark = pytest.mark.django_db


def checked(content: bytes):
    return image_check(file=io.BytesIO(content), size=len(content))


def make(avatar: Avatar) -> bool:
    return thumbnails_make_for(kind=ImageKind.AVATAR, owner_id=avatar.user_id, version=avatar.version)


def test_thumbnails_are_squares_of_each_size_without_exif_or_gps(user, media_root):
    avatar = avatar_set(user=user, image=checked(jpeg_with_gps()))
    assert (media_root / avatar.original).read_bytes() == jpeg_with_gps()  # the original, as sent
    assert make(avatar) is True
    assert SIZES == (32, 64, 128, 256)
    for size in SIZES:
        content = (media_root / avatar.thumbnail_name(size)).read_bytes()
        for marker in (b"Exif", b"GPS", b"Spy Camera", b"XMP", b"ICCP"):
            assert marker not in content, (size, marker)
        with Image.open(io.BytesIO(content)) as thumbnail:
            assert (thumbnail.format, thumbnail.size) == ("WEBP", (size, size))
            assert len(thumbnail.getexif()) == 0
            assert thumbnail.getexif().get_ifd(GPS_IFD) == {}
            assert not {"exif", "icc_profile", "xmp"} & set(thumbnail.info)


def test_the_crop_keeps_the_middle(user, media_root):
    avatar = avatar_set(user=user, image=checked(striped_png(300, 100)))
    make(avatar)
    with Image.open(media_root / avatar.thumbnail_name(64)) as thumbnail:
        rgb = thumbnail.convert("RGB")
        for point in [(2, 2), (61, 2), (32, 32), (2, 61), (61, 61)]:
            red, green, blue = rgb.getpixel(point)  # type: ignore[misc]
            assert green > 200 and red < 60 and blue < 60, (point, (red, green, blue))


def test_a_rotated_phone_photo_stays_upright(user, media_root):
    # 200 wide, 100 high, top half white, bottom black, tagged "rotate 90 clockwise" (6): shown
    # upright it is 100 wide and 200 high with white on the right.
    image = Image.new("RGB", (200, 100), "white")
    image.paste((0, 0, 0), (0, 50, 200, 100))
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    avatar = avatar_set(user=user, image=checked(out.getvalue()))
    make(avatar)
    with Image.open(media_root / avatar.thumbnail_name(32)) as thumbnail:
        rgb = thumbnail.convert("L")
        assert rgb.getpixel((28, 16)) > 200 and rgb.getpixel((3, 16)) < 60  # type: ignore[operator]


def test_a_transparent_logo_keeps_its_transparency_and_an_animated_gif_its_first_frame(
    tenant, user, media_root
):
    out = io.BytesIO()
    Image.new("RGBA", (50, 50), (255, 0, 0, 0)).save(out, format="PNG")
    logo = logo_set(actor=user, tenant=tenant, image=checked(out.getvalue()))
    assert thumbnails_make_for(kind=ImageKind.LOGO, owner_id=tenant.pk, version=logo.version)
    with Image.open(media_root / logo.thumbnail_name(32)) as thumbnail:
        assert thumbnail.mode == "RGBA" and thumbnail.getpixel((16, 16))[3] == 0  # type: ignore[index]

    frames = [Image.new("RGB", (40, 40), color) for color in ("blue", "yellow")]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    avatar = avatar_set(user=user, image=checked(gif.getvalue()))
    make(avatar)
    with Image.open(media_root / avatar.thumbnail_name(32)) as thumbnail:
        red, green, blue = thumbnail.convert("RGB").getpixel((16, 16))  # type: ignore[misc]
        assert blue > 200 and red < 60


def test_running_twice_or_for_a_replaced_upload_does_nothing_more(
    user, tenant, media_root, django_capture_on_commit_callbacks
):
    membership_create(user=user, tenant=tenant, role="member")
    first = avatar_set(user=user, image=checked(image_bytes(color="red")))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert make(first) is True
    assert len(callbacks) == 2  # the clean-up of replaced versions and the one image.ready message
    made = {size: (media_root / first.thumbnail_name(size)).read_bytes() for size in SIZES}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert make(first) is False  # a redelivered task: done already, nothing announced again
    assert callbacks == []
    assert made == {size: (media_root / first.thumbnail_name(size)).read_bytes() for size in SIZES}

    second = avatar_set(user=user, image=checked(image_bytes(color="blue")))
    assert Avatar.objects.get(user=user).ready_at is None  # the page shows the placeholder again
    assert make(first) is False  # the old upload's late task
    with django_capture_on_commit_callbacks(execute=True):
        assert make(second) is True
    # The replaced upload's files are gone once the new thumbnails exist.
    assert not (media_root / first.original).exists()
    assert not (media_root / first.thumbnail_name(32)).exists()
    assert (media_root / second.thumbnail_name(32)).exists()


def test_nothing_is_enqueued_when_the_upload_rolls_back(user, django_capture_on_commit_callbacks):
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        avatar_set(user=user, image=checked(image_bytes()))
        raise RuntimeError("the request failed after the upload")
    assert callbacks == []
    assert not Avatar.objects.exists()
