"""Database access from async code (consumers, socket middleware), always in a named schema.

django-tenants sets the schema on the connection of the thread that handled the request; a
consumer's `database_sync_to_async` call runs on another thread, whose connection has
whatever search path it was last given, often public's (django-tenants issues #1143, #1168,
#518: consumers' queries landing in public). Here every call enters the schema inside the
worker thread, around the function, and leaves it afterwards.

Calls run on the event loop's thread pool rather than channels' single "thread-sensitive"
thread: a few hundred sockets connecting together would otherwise queue behind one thread.
Each call borrows and gives back its connection (close_old_connections before and after),
as channels' own wrapper does, so the psycopg pool or persistent connections stay bounded
by the pool's thread count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django_tenants.utils import schema_context

P = ParamSpec("P")
T = TypeVar("T")


def _call_in_schema(schema_name: str, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    close_old_connections()
    try:
        with schema_context(schema_name):
            return function(*args, **kwargs)
    finally:
        close_old_connections()


async def in_schema(schema_name: str, function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run the sync `function` on a worker thread whose connection works in `schema_name`."""
    call = sync_to_async(_call_in_schema, thread_sensitive=False)
    return await call(schema_name, function, *args, **kwargs)
