"""Refuse request bodies over `REQUEST_BODY_MAX_BYTES` before the application reads them.

Django itself reads a whole body (Django's ASGI handler spools it to a file before the view
runs) and only then applies DATA_UPLOAD_MAX_MEMORY_SIZE, from a view's `request.body`, as a
logged SuspiciousOperation with its traceback. Here a declared `Content-Length` over the limit
gets a 413 without a byte of the body read, whatever the Host, and a streamed (chunked) body
is counted as it arrives and cut off with a 413 once it passes the limit. Either way the
refusal is one warning line and the connection is closed.

Two entry points, one policy: `AsgiBodyLimit` wraps config/asgi.py (uvicorn, as the Procfile
runs it) and `WsgiBodyLimit` wraps config/wsgi.py (gunicorn or any WSGI server).
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import structlog
from django.conf import settings

logger = structlog.get_logger("saas.request_limits")

_BODY = b"Request body too large.\n"
_CHUNK = 64 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
AsgiApp = Callable[[Any, Any, Any], Awaitable[None]]


def _declared_length(value: str | bytes | None) -> int | None:
    try:
        return int(value) if value not in (None, b"", "") else None
    except ValueError:
        return None


def _refused(*, limit: int, method: str, path: str, host: str, declared: int | None, received: int) -> None:
    logger.warning(
        "request body too large",
        limit_bytes=limit,
        declared_bytes=declared,
        received_bytes=received,
        method=method,
        path=path,
        host=host,
    )


class AsgiBodyLimit:
    """ASGI middleware: 413 for a body over the limit (declared or streamed), then close."""

    def __init__(self, app: AsgiApp, *, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = settings.REQUEST_BODY_MAX_BYTES if max_bytes is None else max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        details = {
            "limit": self.max_bytes,
            "method": scope.get("method", ""),
            "path": scope.get("path", ""),
            "host": headers.get(b"host", b"").decode("latin-1"),
        }
        declared = _declared_length(headers.get(b"content-length"))
        if declared is not None and declared > self.max_bytes:
            _refused(**details, declared=declared, received=0)
            await self._send_413(send)
            return

        received = 0
        refused = False
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    _refused(**details, declared=declared, received=received)
                    if not response_started:
                        await self._send_413(send)
                    # The application sees the client go away and stops (Django answers nothing).
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if refused:
                return
            response_started = True
            await send(message)

        await self.app(scope, counting_receive, guarded_send)

    @staticmethod
    async def _send_413(send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", str(len(_BODY)).encode()),
                    # The rest of the body is never read: this connection cannot carry another request.
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": _BODY})


class WsgiBodyLimit:
    """WSGI middleware: the same policy. A streamed body (no Content-Length; the server has
    decoded the chunks, `wsgi.input_terminated`) is read here, up to the limit, into a spooled
    file that the application then reads with a real Content-Length."""

    def __init__(self, app: Callable[..., Iterable[bytes]], *, max_bytes: int | None = None) -> None:
        self.app = app
        self.max_bytes = settings.REQUEST_BODY_MAX_BYTES if max_bytes is None else max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        details = {
            "limit": self.max_bytes,
            "method": environ.get("REQUEST_METHOD", ""),
            "path": environ.get("PATH_INFO", ""),
            "host": environ.get("HTTP_HOST", ""),
        }
        declared = _declared_length(environ.get("CONTENT_LENGTH"))
        if declared is not None and declared > self.max_bytes:
            _refused(**details, declared=declared, received=0)
            return self._respond_413(start_response)
        streamed = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if declared is None and (streamed or environ.get("wsgi.input_terminated")):
            body = tempfile.SpooledTemporaryFile(max_size=_CHUNK * 16)  # noqa: SIM115 (handed on)
            received = 0
            stream = environ["wsgi.input"]
            while received <= self.max_bytes:
                chunk = stream.read(min(_CHUNK, self.max_bytes + 1 - received))
                if not chunk:
                    break
                received += len(chunk)
                body.write(chunk)
            if received > self.max_bytes:
                body.close()
                _refused(**details, declared=None, received=received)
                return self._respond_413(start_response)
            body.seek(0)
            environ["wsgi.input"] = body
            environ["CONTENT_LENGTH"] = str(received)
        return self.app(environ, start_response)

    @staticmethod
    def _respond_413(start_response: Callable[..., Any]) -> Iterable[bytes]:
        start_response(
            "413 Request Entity Too Large",
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(_BODY))),
                ("Connection", "close"),
            ],
        )
        return [_BODY]
