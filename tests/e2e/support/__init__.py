"""What the end-to-end fixtures (tests/e2e/conftest.py) are made of: outside parties on
loopback (smtp.py, http_sink.py), the project's processes (processes.py) and a client for
`*.localhost` hosts (client.py)."""
