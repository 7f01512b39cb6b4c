"""Square thumbnails of a stored original, made by the worker (images.tasks).

Each size is a center crop scaled with Lanczos, re-encoded as WebP from a fresh image that
carries pixels only: no EXIF (GPS, camera, time), no XMP, no ICC profile, no comments. The
EXIF orientation is applied to the pixels first, so a rotated phone photo stays upright once
its EXIF is gone.
"""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

WEBP_QUALITY = 85


def thumbnails_render(*, content: bytes, sizes: tuple[int, ...]) -> dict[int, bytes]:
    """WebP bytes of each square size, from an image already checked (images.checks)."""
    with Image.open(io.BytesIO(content)) as opened:
        opened.seek(0)  # an animated GIF: its first frame
        upright = ImageOps.exif_transpose(opened)
        has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
        pixels = upright.convert("RGBA" if has_alpha else "RGB")
    rendered = {}
    for size in sizes:
        square = ImageOps.fit(pixels, (size, size), Image.Resampling.LANCZOS, centering=(0.5, 0.5))
        # A new image from the raw pixels: nothing of the original's `info` can travel along.
        clean = Image.frombytes(square.mode, square.size, square.tobytes())
        out = io.BytesIO()
        clean.save(out, format="WEBP", quality=WEBP_QUALITY, method=4)
        rendered[size] = out.getvalue()
    return rendered


def file_put(name: str, content: bytes) -> None:
    """Write `content` at exactly `name`, replacing a file there (a redelivered task rewrites)."""
    if default_storage.exists(name):
        default_storage.delete(name)
    stored = default_storage.save(name, ContentFile(content))
    if stored != name:  # a concurrent writer won the name; never leave a second copy
        default_storage.delete(stored)


def folder_delete_except(*, folder: str, keep: str) -> None:
    """Delete the files of every version under `folder` but `keep` (uploads it replaced)."""
    try:
        versions, _files = default_storage.listdir(folder)
    except FileNotFoundError:
        return
    for version in versions:
        if version == keep:
            continue
        _subfolders, files = default_storage.listdir(f"{folder}/{version}")
        for name in files:
            default_storage.delete(f"{folder}/{version}/{name}")
