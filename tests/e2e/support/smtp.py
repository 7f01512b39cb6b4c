"""A real SMTP server (aiosmtpd) on loopback that keeps what it accepted."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from email.message import EmailMessage

from aiosmtpd.controller import Controller

from devtools.processes import free_port, wait_until


class _Collector:
    """aiosmtpd handler: keeps each message the client saw accepted."""

    def __init__(self, sink: SmtpServer) -> None:
        self.sink = sink

    async def handle_DATA(self, server, session, envelope):
        self.sink.data_started += 1
        # Like a real MTA, a message whose client goes away before our "250" is not accepted:
        # aiosmtpd cancels this handler when the connection drops.
        try:
            deadline = time.monotonic() + self.sink.delay
            while time.monotonic() < deadline and self.sink.delay:
                await asyncio.sleep(0.05)
        except asyncio.CancelledError:
            self.sink.abandoned += 1
            raise
        transport = getattr(server, "transport", None)
        if transport is None or transport.is_closing():
            self.sink.abandoned += 1
            return "451 Client went away"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.sink.lock:
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server on 127.0.0.1; `.stop()` / `.start()` keep the same port.

    It can answer DATA slowly (`.delay` seconds), so a test can kill a worker mid-send.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.delay = 0.0  # seconds before answering DATA
        self.data_started = 0
        self.abandoned = 0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(_Collector(self), hostname="127.0.0.1", port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def wait_for(self, count: int, timeout: float = 15.0) -> list[EmailMessage]:
        """Wait (bounded) until at least `count` messages arrived; returns them all."""
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            message=f"{count} email(s) at the SMTP server (got {len(self.messages)})",
        )
        return list(self.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address.lower() in str(m["To"]).lower()]
