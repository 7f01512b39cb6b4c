"""WSGI entry point (gunicorn or any WSGI server); the same body limit as config/asgi.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.request_limits import WsgiBodyLimit
from saas.telemetry import telemetry_init

# In each gunicorn worker (the application loads after the fork), before Django's handler
# loads its middleware (the tracing middleware goes first).
telemetry_init("web")

application = WsgiBodyLimit(get_wsgi_application())
