"""WSGI entry point (gunicorn or any WSGI server); the same body limit as config/asgi.py."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.request_limits import WsgiBodyLimit

application = WsgiBodyLimit(get_wsgi_application())
