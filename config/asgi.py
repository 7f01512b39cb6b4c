"""ASGI entry point: HTTP through Django; WebSockets arrive with the realtime issue."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.request_limits import AsgiBodyLimit

# Outermost: an oversized body is refused before any of it is read, whatever the Host.
application = AsgiBodyLimit(get_asgi_application())
