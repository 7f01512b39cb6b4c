"""What the end-to-end fixtures (tests/e2e/conftest.py) are made of: outside parties on
loopback (smtp.py, http_sink.py), a redis-server of a test's own to restart (redis_server.py),
the project's processes (processes.py), a client for `*.localhost` hosts (client.py) and a
dashboard socket client that behaves as live.js does (live_client.py)."""
