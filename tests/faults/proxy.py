"""A TCP proxy on loopback that a test can cut: what a PostgreSQL restart looks like to clients.

`cut()` closes every connection through it and refuses new ones (the port stays bound, so
the same address comes back); `restore()` accepts again. Never the shared server restarted:
the database behind it keeps running for every other test on the machine.

Threads and blocking sockets: a few dozen connections at most, and nothing to install.
"""

from __future__ import annotations

import contextlib
import socket
import threading

from devtools.processes import free_port


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.accepting = True
        self.connections_cut = 0
        self.refused = 0
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._listener.settimeout(0.2)
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if not self.accepting:
                self.refused += 1
                client.close()  # like a server that is down: the connection ends at once
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._open.discard(end)
        with contextlib.suppress(OSError):
            end.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            end.close()

    def cut(self) -> None:
        """Every connection dropped, new ones refused, until `restore()`."""
        self.accepting = False
        with self._lock:
            ends = list(self._open)
        self.connections_cut += len(ends) // 2
        for end in ends:
            self._close(end)

    def restore(self) -> None:
        self.accepting = True

    def close(self) -> None:
        self._stopped.set()
        self.cut()
        self._listener.close()
        self._thread.join(timeout=2)
