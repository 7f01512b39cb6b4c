"""What a connection really sends to PostgreSQL, read from libpq's own protocol trace.

Django's captured queries show the statements it was asked to run; the backend can add a
`SET search_path` in front of one of them, which only the wire shows.
"""

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from psycopg.pq import Trace


@contextmanager
def queries_sent(connection) -> Iterator[list[str]]:
    """The texts of the queries the driver's connection sends inside the block, one per round trip."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    sent: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        descriptor = os.dup(trace.fileno())  # libpq's stream owns this one
        pgconn.trace(descriptor)
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield sent
        finally:
            pgconn.untrace()  # flushes the stream
            os.close(descriptor)
            trace.seek(0)
            for line in trace:
                direction, _, kind, *text = line.rstrip("\n").split("\t")
                if direction == "F" and kind in ("Query", "Parse"):
                    sent.append("\t".join(text).strip().strip('"'))
