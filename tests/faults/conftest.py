"""The end-to-end fixtures (real servers on loopback) for the fault suite."""

from tests.e2e.conftest import (  # noqa: F401 (fixtures and the report hook, used by name)
    asgi_server,
    browser_client,
    celery_worker,
    e2e_env,
    e2e_env_overrides,
    e2e_queue,
    http_sink,
    pytest_runtest_makereport,
    smtp_server,
    sockets_server,
    wsgi_server,
)
