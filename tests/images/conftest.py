"""Images built in the tests: photos with EXIF GPS, renamed text, decompression bombs."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from tests.api.conftest import _fresh_api_counters, make_key, owner  # noqa: F401  (the API tests' fixtures)

GPS_IFD = 0x8825
ORIENTATION = 0x0112


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Each test stores its files in a directory of its own (default_storage follows the setting)."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


def image_bytes(size: tuple[int, int] = (300, 200), *, format: str = "PNG", color: str = "#3b5bdb") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=format)
    return out.getvalue()


def striped_png(width: int = 300, height: int = 100) -> bytes:
    """Three vertical bands, red | green | blue: a center crop keeps only the green one."""
    image = Image.new("RGB", (width, height), "red")
    image.paste((0, 255, 0), (width // 3, 0, 2 * width // 3, height))
    image.paste((0, 0, 255), (2 * width // 3, 0, width, height))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A camera-like JPEG: EXIF with GPS coordinates, a camera model and an orientation."""
    exif = Image.Exif()
    exif[0x0110] = "Spy Camera 3000"  # Model
    exif[ORIENTATION] = 1
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (48.0, 51.0, 29.0)
    gps[3] = "E"
    gps[4] = (2.0, 17.0, 40.0)
    out = io.BytesIO()
    Image.new("RGB", (640, 480), "#c0ffee").save(out, format="JPEG", exif=exif, quality=90)
    content = out.getvalue()
    with Image.open(io.BytesIO(content)) as check:  # the test input really carries GPS
        assert check.getexif().get_ifd(GPS_IFD)[2] == (48.0, 51.0, 29.0)
    return content


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def bomb_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of `width` x `height` zeros: a few hundred kilobytes that decode to gigabytes."""
    row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + packed pixels
    compressor = zlib.compressobj(9)
    compressed = [compressor.compress(row) for _ in range(height)]
    compressed.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", b"".join(compressed))
        + _chunk(b"IEND", b"")
    )
