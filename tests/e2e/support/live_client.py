"""A dashboard socket client that behaves as realtime/static/realtime/live.js does.

It keeps the members by user id and each stream's last sequence number, applies a snapshot
whole, asks for one (`resync`) when a number skips, and when the socket closes for any
reason but a final close code it reconnects with capped, jittered backoff. Everything it
saw is recorded for the test to assert on. Run `client.run()` as a task; `client.stop()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from dataclasses import dataclass, field
from typing import Any

import websockets
from websockets.typing import Origin

FINAL_CLOSE_CODES = frozenset({4401, 4403, 4404})


@dataclass
class LiveClient:
    netloc: str  # the pages' host and port: the Host and Origin a browser sends
    port: int  # where the sockets are served (the load balancer's /ws/ rule)
    cookie: str
    max_backoff: float = 1.0
    members: dict[int, dict[str, Any]] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=lambda: {"tenant": 0, "user": 0})
    unread: int | None = None
    snapshots: list[dict[str, Any]] = field(default_factory=list)  # each with "at" (monotonic)
    frames: list[dict[str, Any]] = field(default_factory=list)  # every frame, in order
    closes: list[int | None] = field(default_factory=list)
    connect_failures: list[str] = field(default_factory=list)
    resyncs_asked: int = 0

    def __post_init__(self) -> None:
        self._stopping = asyncio.Event()
        self._connection: Any = None
        self.connected = asyncio.Event()

    # --- what the page shows ------------------------------------------------------------------

    def member_names(self) -> set[str]:
        return {m["name"] for m in self.members.values()}

    def snapshots_since(self, moment: float) -> list[dict[str, Any]]:
        return [s for s in self.snapshots if s["at"] >= moment]

    def _handle(self, frame: dict[str, Any]) -> str | None:
        """Apply one frame; returns a frame to send back, if any."""
        self.frames.append(frame)
        if frame["type"] == "snapshot":
            self.snapshots.append({**frame, "at": time.monotonic()})
            self.members = {m["user_id"]: m for m in frame["members"]}
            self.seq = dict(frame["seq"])
            self.unread = frame["notifications_unread"]
            return None
        stream, number = frame.get("stream"), frame.get("seq")
        if stream and number:
            if number <= self.seq[stream]:
                return None
            if number != self.seq[stream] + 1:
                self.resyncs_asked += 1
                return json.dumps({"type": "resync"})
            self.seq[stream] = number
        if frame["type"] == "membership.changed":
            if frame["member"]:
                self.members[frame["user_id"]] = frame["member"]
            else:
                self.members.pop(frame["user_id"], None)
        elif frame["type"] == "notifications.count":
            self.unread = frame["unread"]
        return None

    # --- the socket ---------------------------------------------------------------------------

    async def run(self) -> None:
        attempt = 0
        while not self._stopping.is_set():
            try:
                async with websockets.connect(
                    f"ws://{self.netloc}/ws/dashboard/",
                    host="127.0.0.1",
                    port=self.port,
                    origin=Origin(f"http://{self.netloc}"),
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=10,
                    max_queue=None,
                ) as connection:
                    self._connection = connection
                    self.connected.set()
                    attempt = 0
                    async for raw in connection:
                        answer = self._handle(json.loads(raw))
                        if answer is not None:
                            await connection.send(answer)
                self.closes.append(connection.close_code)
            except websockets.ConnectionClosed as closed:
                self.closes.append(closed.rcvd.code if closed.rcvd else None)
            except (TimeoutError, OSError, websockets.InvalidHandshake) as error:
                self.connect_failures.append(repr(error))
            finally:
                self._connection = None
                self.connected.clear()
            if self.closes and self.closes[-1] in FINAL_CLOSE_CODES:
                return
            # Full jitter over a capped exponential, as live.js (its cap is 30 s; tests are short).
            delay = random.uniform(0, min(self.max_backoff, 0.1 * 2**attempt))
            attempt += 1
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), delay)

    async def send(self, frame: dict[str, Any]) -> None:
        if self._connection is not None:
            await self._connection.send(json.dumps(frame))

    async def stop(self) -> None:
        self._stopping.set()
        if self._connection is not None:
            await self._connection.close()


async def until(predicate: Any, *, timeout: float, message: str) -> None:
    """Wait (bounded) for `predicate()` to hold, polling the event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        await asyncio.sleep(0.05)
