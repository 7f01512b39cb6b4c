"""The one check an uploaded image passes before anything is stored.

The type comes from the bytes (Pillow's own sniffing), never from the name or the declared
content type, so a renamed text file is refused. The size limit is checked before a byte is
decoded; the pixel limit before pixels are decoded (Pillow reads only the header on open).
Pillow's decompression-bomb warning is an error here: its limit (about 89 MP) is far above
ours, so an image that trips it is refused as a bomb, one between the two limits as too large.
The whole image is then decoded once, so a truncated or damaged file is refused here rather
than failing later in the worker.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass
from typing import IO

from django.conf import settings
from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

# Pillow format name -> the stored original's extension.
ACCEPTED_FORMATS = {"PNG": "png", "JPEG": "jpg", "WEBP": "webp", "GIF": "gif"}
ACCEPTED_LABEL = "PNG, JPEG, WebP or GIF"


@dataclass(frozen=True)
class CheckedImage:
    content: bytes
    format: str
    extension: str
    width: int
    height: int


def _megabytes(size: int) -> str:
    # Rounded up to a tenth: a file just over the limit never reads as "1 MB; at most 1 MB".
    tenths = math.ceil(size * 10 / (1024 * 1024))
    return f"{tenths / 10:.1f}".removesuffix(".0") + " MB"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:.1f}".removesuffix(".0")


def image_check(*, file: IO[bytes], size: int | None = None) -> CheckedImage:
    """The upload's bytes and what they are, or a ValidationError saying what is wrong with them."""
    limit = settings.IMAGE_UPLOAD_MAX_BYTES
    if size is not None and size > limit:
        raise ValidationError(
            f"The file is {_megabytes(size)}; images may be at most {_megabytes(limit)}.", code="too_large"
        )
    content = file.read(limit + 1)
    if len(content) > limit:
        raise ValidationError(f"Images may be at most {_megabytes(limit)}.", code="too_large")
    if not content:
        raise ValidationError("The file is empty.", code="empty")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(content))
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ValidationError(
                "This image declares far more pixels than any photo (a decompression bomb); it was refused.",
                code="decompression_bomb",
            ) from None
        except UnidentifiedImageError:
            raise ValidationError(
                f"This file is not an image: its contents are not {ACCEPTED_LABEL}.", code="not_an_image"
            ) from None
        except Exception:  # a known format whose header is cut short or corrupt (OSError, ...)
            raise _damaged() from None
        with image:
            if image.format not in ACCEPTED_FORMATS:
                raise ValidationError(
                    f"{image.format} images are not accepted; use {ACCEPTED_LABEL}.",
                    code="unsupported_format",
                )
            width, height = image.size
            pixels = width * height
            if pixels > settings.IMAGE_MAX_PIXELS:
                raise ValidationError(
                    f"The image is {width} x {height} pixels ({_megapixels(pixels)} megapixels); "
                    f"the limit is {_megapixels(settings.IMAGE_MAX_PIXELS)} megapixels.",
                    code="too_many_pixels",
                )
            image_format = image.format
            try:
                image.verify()
            except Exception:
                raise _damaged() from None
        try:
            with Image.open(io.BytesIO(content)) as decoded:
                decoded.load()  # a GIF decodes its first frame: the one thumbnails use
        except Exception:
            raise _damaged() from None
    return CheckedImage(
        content=content,
        format=image_format,
        extension=ACCEPTED_FORMATS[image_format],
        width=width,
        height=height,
    )


def _damaged() -> ValidationError:
    return ValidationError("The image file is damaged or incomplete.", code="damaged")
