"""`{% image_tile view kind owner_id initials size %}`: a thumbnail, or initials until it exists.

The tile carries the data-live hooks (realtime/static/realtime/live.js): an `image.ready`
message for the same kind and owner swaps the initials for the picture.
"""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.inclusion_tag("images/_tile.html")
def image_tile(
    view: dict[str, Any], kind: str, owner_id: int, initials: str, size: int = 128
) -> dict[str, Any]:
    thumbnails = view.get("thumbnails") or {}
    return {
        "kind": kind,
        "owner_id": owner_id,
        "initials": (initials or "?")[:2].upper(),
        "size": size,
        "src": thumbnails.get(str(size)),
        "src_2x": thumbnails.get(str(size * 2)),
        "processing": view.get("status") == "processing",
    }
