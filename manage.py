#!/usr/bin/env python
"""Django's command-line entry point."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Django's execute_from_command_line, in one span per command when tracing is on.
    from saas.telemetry import execute_command

    execute_command(sys.argv)


if __name__ == "__main__":
    main()
