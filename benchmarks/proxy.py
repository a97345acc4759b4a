"""The one loopback TCP proxy of the tests and benchmarks: connections through it can be cut
from either side, refused, or stripped of their WebSocket subprotocol header.

``Proxy`` runs on the caller's asyncio loop (``benchmarks.reconnects``); ``ProxyThread`` runs
one in a thread of its own for synchronous callers (the browser tests); ``python -m
benchmarks.proxy TARGET_PORT`` runs one as a process that prints its port, for a test that kills
the process mid-stream (``tests/test_faults.py``).
"""

from __future__ import annotations

import asyncio
import sys
import threading
from typing import Any


def strip_subprotocol(head: bytes) -> bytes:
    """Drop the Sec-WebSocket-Protocol header line from an HTTP head."""
    lines = head.split(b"\r\n")
    return b"\r\n".join(
        line for line in lines if not line.lower().startswith(b"sec-websocket-protocol:")
    )


class Proxy:
    """A loopback TCP proxy to ``target_port``.

    ``cut(side)`` aborts the newest connection on the client's or the server's side; ``cut_all()``
    aborts every open one, which a browser sees as a dropped WebSocket (close code 1006). While
    ``refuse`` is set, connections whose request line names ``refuse_marker`` (the termmux
    socket) are aborted at once. ``strip_request_subprotocol`` / ``strip_answer_subprotocol``
    act as gateways that drop Sec-WebSocket-Protocol, from the client's request (the server
    then sees no offer) or from the server's 101 answer.
    """

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.refuse = False
        self.refuse_marker = b"api/termmux/socket"
        self.strip_request_subprotocol = False
        self.strip_answer_subprotocol = False
        #: (client side, server side) of every connection, oldest first
        self.pairs: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._server: asyncio.AbstractServer | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> Proxy:
        """Listen on a free loopback port (``port``)."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            await self._proxy(reader, writer)
        except asyncio.CancelledError:
            # stop() cancels every connection; a cancelled handler task would be logged as
            # an error by asyncio's stream callback.
            writer.transport.abort()
        finally:
            if task is not None:
                self._tasks.discard(task)

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = await reader.read(65536)
        if not first or (self.refuse and self.refuse_marker in first.split(b"\r\n", 1)[0]):
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.transport.abort()
            return
        pair = (writer, up_writer)
        self.pairs.append(pair)
        up_writer.write(strip_subprotocol(first) if self.strip_request_subprotocol else first)

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, strip: bool = False
        ) -> None:
            try:
                while data := await src.read(65536):
                    if strip:
                        # The 101 answer comes first and whole (a few hundred bytes).
                        data, strip = strip_subprotocol(data), False
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()

        try:
            strip = self.strip_answer_subprotocol
            await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer, strip))
        finally:
            if pair in self.pairs:
                self.pairs.remove(pair)

    def cut(self, side: str) -> None:
        """Abort the newest connection on the client's or the server's side."""
        client_side, server_side = self.pairs[-1]
        (client_side if side == "client" else server_side).transport.abort()

    def cut_all(self) -> int:
        """Abort every open connection; return how many TCP streams were cut."""
        pairs, self.pairs = self.pairs, []
        for client_side, server_side in pairs:
            client_side.transport.abort()
            server_side.transport.abort()
        return 2 * len(pairs)

    async def stop(self) -> None:
        """Stop listening, cut every connection and end its tasks."""
        if self._server is not None:
            self._server.close()
        self.cut_all()
        tasks = list(self._tasks)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


#: The settings of a ``Proxy`` that a ``ProxyThread`` passes through (read per connection).
SETTINGS = ("refuse", "refuse_marker", "strip_request_subprotocol", "strip_answer_subprotocol")


class ProxyThread:
    """A ``Proxy`` on an event loop in its own thread, driven from synchronous code; setting
    one of its ``SETTINGS`` here sets it on the proxy."""

    def __init__(self, target_port: int) -> None:
        self.proxy = Proxy(target_port)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="tcp-proxy", daemon=True
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in SETTINGS:
            setattr(self.proxy, name, value)
        else:
            super().__setattr__(name, value)

    def __getattr__(self, name: str) -> Any:
        if name in SETTINGS:
            return getattr(self.proxy, name)
        raise AttributeError(name)

    @property
    def port(self) -> int:
        """The port the proxy listens on."""
        return self.proxy.port

    def _call(self, coro: Any, timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def start(self) -> ProxyThread:
        """Start the thread and listen."""
        self._thread.start()
        self._call(self.proxy.start())
        return self

    def cut_all(self) -> int:
        """Abort every open connection; return how many TCP streams were cut."""

        async def cut() -> int:
            return self.proxy.cut_all()

        return int(self._call(cut()))

    def stop(self) -> None:
        """Stop the proxy and its thread."""
        self._call(self.proxy.stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()


async def _serve(target_port: int) -> None:
    proxy = await Proxy(target_port).start()
    print(proxy.port, flush=True)
    await asyncio.Event().wait()  # until the process is killed


if __name__ == "__main__":
    asyncio.run(_serve(int(sys.argv[1])))
