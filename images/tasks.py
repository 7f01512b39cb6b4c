"""The worker's part: thumbnails on the "images" queue (routed by name), in the public schema."""

from __future__ import annotations

from celery import shared_task

from saas.tasking import SchemaScope


@shared_task(
    name="images.thumbnails_make",
    # Avatars and logos are public rows, whichever host the upload came from.
    schema_scope=SchemaScope.PUBLIC,
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=60,
    time_limit=90,
)
def thumbnails_make(*, kind: str, owner_id: int, version: str) -> bool:
    """Square thumbnails of one uploaded avatar or logo; a no-op once done or replaced."""
    from images.services import thumbnails_make_for  # services enqueue this task

    return thumbnails_make_for(kind=kind, owner_id=owner_id, version=version)
