"""The end-to-end fixtures themselves: each outside party and process really works."""

import smtplib
from email.message import EmailMessage

import pytest
import requests

pytestmark = pytest.mark.e2e


def _send(port: int, to: str) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", to, "hello"
    message.set_content("body")
    with smtplib.SMTP("127.0.0.1", port, timeout=5) as client:
        client.send_message(message)


def test_smtp_server_collects_and_restarts_on_the_same_port(smtp_server):
    _send(smtp_server.port, "one@example.com")
    assert [m["To"] for m in smtp_server.wait_for(1, timeout=5)] == ["one@example.com"]
    smtp_server.stop()
    with pytest.raises(OSError):
        _send(smtp_server.port, "two@example.com")
    smtp_server.start()
    _send(smtp_server.port, "three@example.com")
    assert [m["To"] for m in smtp_server.wait_for(2, timeout=5)] == ["one@example.com", "three@example.com"]


def test_http_sink_records_json_and_can_fail(http_sink):
    http_sink.failing.add("/down")
    assert requests.post(http_sink.url("/up"), json={"a": 1}, timeout=5).status_code == 200
    assert requests.post(http_sink.url("/down"), json={"b": 2}, timeout=5).status_code == 500
    assert http_sink.received("/up") == [{"a": 1}]
    assert http_sink.received("/down") == []
    assert http_sink.attempts("/down") == 1


def test_asgi_server_and_worker_start_and_stop(asgi_server, celery_worker, browser_client):
    response = browser_client.get(asgi_server.url + "/")
    assert response.status_code == 200
    assert celery_worker.running()
    celery_worker.kill()
    assert not celery_worker.running()
    celery_worker.start()
    assert celery_worker.running()
