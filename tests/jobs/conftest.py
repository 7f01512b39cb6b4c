"""The end-to-end fixtures (a real worker on this run's queues) for the jobs suite's worker tests."""

from tests.e2e.conftest import (  # noqa: F401 (fixtures and the report hook, used by name)
    e2e_env,
    e2e_env_overrides,
    e2e_queue,
    http_sink,
    pytest_runtest_makereport,
    smtp_server,
)
