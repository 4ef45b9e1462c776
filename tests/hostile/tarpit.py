"""A loopback TCP server that accepts connections and never says a word.

The feed server always reads a request and answers in the end; a tarpit
does neither, as a wedged server or a hostile one holding sockets open does.
Use the `tarpit` fixture, or `with Tarpit() as pit:`; stopping closes every
connection it holds.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from types import TracebackType

import pytest
from feedserver import HOST


class Tarpit:
    """Accepts every connection on 127.0.0.1 (a free port), reads nothing, sends nothing."""

    def __init__(self) -> None:
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.02)  # how often the accept loop notices stop()
        self._held: list[socket.socket] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="tarpit", daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://{HOST}:{self.port}{path}"

    @property
    def accepted(self) -> int:
        """How many connections it has taken so far."""
        with self._lock:
            return len(self._held)

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._held.append(connection)

    def start(self) -> Tarpit:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._listener.close()
        with self._lock:
            for connection in self._held:
                connection.close()

    def __enter__(self) -> Tarpit:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@pytest.fixture
def tarpit() -> Iterator[Tarpit]:
    """A started Tarpit, stopped (connections closed) after the test."""
    with Tarpit() as pit:
        yield pit
