"""uvicorn's `--log-config config/uvicorn_logging.json` (Procfile, ws role): our format in its
supervisor too.

With `--workers` above one, uvicorn's parent process supervises the workers and never imports
the application (nor Django's settings, which configure logging in each worker): without this
its own lines ("Started parent process", "Waiting for child process", "Stopping parent
process") were uvicorn's plain text.
"""

import logging
import os

from saas.observability import structured_formatter


def formatter() -> logging.Formatter:
    """The `()` factory the JSON file names: LOG_FORMAT as settings read it (json by default)."""
    return structured_formatter(os.environ.get("LOG_FORMAT", "json"))
