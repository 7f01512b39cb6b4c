"""gunicorn's `--logger-class` (Procfile, web role): its master's and workers' lines in our format.

gunicorn's own Logger attaches handlers with its own format to "gunicorn.error" and
"gunicorn.access" before the application (and so Django's settings) loads, and again in the
master, which never loads it. This one configures ours and lets both propagate to the root.
"""

import logging
import os
from typing import Any

from gunicorn.glogging import Logger as _GunicornLogger

from saas.observability import configure_logging


class Logger(_GunicornLogger):
    def setup(self, cfg: Any) -> None:
        level = os.environ.get("LOG_LEVEL", "INFO")
        configure_logging(level=level, fmt=os.environ.get("LOG_FORMAT", "json"))
        for log in (self.error_log, self.access_log):
            log.handlers.clear()
            log.propagate = True
        self.error_log.setLevel(level)
        self.access_log.setLevel(logging.WARNING)
