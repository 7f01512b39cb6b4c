"""uvicorn's `--log-config config/uvicorn_logging.json` (Procfile, ws role): our format in its
supervisor too.

With `--workers` above one, uvicorn's parent process supervises the workers and never imports
the application (nor Django's settings, which configure logging in each worker): without this
its own lines ("Started parent process", "Waiting for child process", "Stopping parent
process") were uvicorn's plain text. Each worker replaces this with configure_logging when
the application loads.
"""

import logging
import os
import sys


def handler() -> logging.Handler:
    """The `()` factory the JSON file names: stdout, LOG_FORMAT and LOG_LEVEL as settings read
    them (json, INFO by default)."""
    from saas.observability import structured_formatter

    stream = logging.StreamHandler(sys.stdout)
    stream.setFormatter(structured_formatter(os.environ.get("LOG_FORMAT", "json")))
    stream.setLevel(os.environ.get("LOG_LEVEL", "INFO").upper())
    return stream
