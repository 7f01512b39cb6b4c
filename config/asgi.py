"""ASGI entry point: HTTP through Django, WebSockets through realtime's middleware and routes.

Production serves pages with gunicorn (config/wsgi.py, the Procfile's `web` role) and only
`/ws/` with this application (the `ws` role); the load balancer routes by path. In
development the one ASGI server serves both (README, "Web tier").
"""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from saas.telemetry import telemetry_init

# In each uvicorn worker, before Django's handler loads its middleware (tracing's goes first).
telemetry_init("ws")

# Django must be set up before the consumers (and the models they import) load.
django_application = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from realtime.middleware import websocket_stack  # noqa: E402
from realtime.routing import websocket_urlpatterns  # noqa: E402
from saas.request_limits import AsgiBodyLimit  # noqa: E402

application = ProtocolTypeRouter(
    {
        # Outermost for HTTP: an oversized body is refused before any of it is read.
        "http": AsgiBodyLimit(django_application),
        "websocket": websocket_stack(URLRouter(websocket_urlpatterns)),
    }
)
