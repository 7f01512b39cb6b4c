"""The mail server refuses for a while (451 to every message, as a greylisting or overloaded
MTA does), then accepts (issue 17, part 5): every welcome email arrives exactly once.

A stopped SMTP server (connection refused) is tests/e2e/test_signup_flow.py; here the
connection succeeds and the server answers DATA with a temporary failure.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from aiosmtpd.controller import Controller

from devtools.processes import wait_until
from saas.models import TaskDelivery
from tests.e2e.signup_helpers import assert_on_dashboard, new_identity, sign_up_through_the_form
from tests.e2e.support.client import BrowserClient
from tests.e2e.support.smtp import SmtpServer, _Collector

pytestmark = pytest.mark.e2e

SIGN_UPS = 3


class _RefusingCollector(_Collector):
    async def handle_DATA(self, server, session, envelope):
        sink = self.sink
        assert isinstance(sink, RefusingSmtpServer)
        if sink.refusing:
            sink.refusals += 1
            return "451 4.3.0 Try again later"
        return await super().handle_DATA(server, session, envelope)


class RefusingSmtpServer(SmtpServer):
    def __init__(self) -> None:
        super().__init__()
        self.refusing = True
        self.refusals = 0

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(
                _RefusingCollector(self), hostname="127.0.0.1", port=self.port, ready_timeout=10
            )
            controller.start()
            self._controller = controller


@pytest.fixture
def smtp_server() -> Iterator[RefusingSmtpServer]:
    server = RefusingSmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def e2e_env_overrides() -> dict[str, str | None]:
    return {"SLACK_WEBHOOK_URL": None, "ANALYTICS_URL": None}


def test_mail_refused_with_451_for_a_while_arrives_once(asgi_server, celery_worker, smtp_server):
    addresses = []
    for _ in range(SIGN_UPS):
        browser_client = BrowserClient(asgi_server.port)  # a new visitor each time
        email, subdomain = new_identity("gl")
        response = sign_up_through_the_form(browser_client, asgi_server.url, email=email, subdomain=subdomain)
        assert_on_dashboard(response, subdomain=subdomain, email=email, port=asgi_server.port)
        addresses.append(email)

    wait_until(
        lambda: (
            TaskDelivery.objects.filter(key__endswith=":welcome_email", attempts__gte=2).count() == SIGN_UPS
        ),
        timeout=30,
        message="two refused attempts per email",
    )
    assert smtp_server.messages == []
    assert all("451" in d.last_error for d in TaskDelivery.objects.filter(key__endswith=":welcome_email"))
    refusals = smtp_server.refusals
    smtp_server.refusing = False

    smtp_server.wait_for(SIGN_UPS, timeout=30)
    time.sleep(3)  # a duplicate would arrive now
    received = sorted(str(message["To"]) for message in smtp_server.messages)
    assert received == sorted(addresses)
    assert set(
        TaskDelivery.objects.filter(key__endswith=":welcome_email").values_list("state", flat=True)
    ) == {TaskDelivery.State.SUCCEEDED}
    print(f"\nsmtp 451: {refusals} refusals, {len(received)} emails for {SIGN_UPS} sign-ups")
