"""The two transports behind one interface.

A ``View`` is what one browser tab sees of some sessions: for termmux ONE socket attached to all
of them, for terminado one socket per session (its only option). Scenarios drive views, so the
same work runs over both transports.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any, Optional, Protocol

from tornado.websocket import WebSocketClientConnection, websocket_connect

from .server import JupyterServer

MAX_MESSAGE = 64 * 1024 * 1024


class Sink(Protocol):
    def feed(self, data: str) -> None: ...


class View:
    """Subscriptions of one client to some sessions; output goes to per-session sinks."""

    transport = ""

    def __init__(self, server: JupyterServer, sessions: list[str]):
        self.server = server
        self.sessions = list(sessions)
        self.sinks: dict[str, list[Sink]] = {s: [] for s in sessions}
        self.errors: list[str] = []
        self.bytes = 0
        self.messages = 0

    def add_sink(self, session: str, sink: Sink) -> None:
        self.sinks[session].append(sink)

    def _deliver(self, session: str, data: str) -> None:
        self.bytes += len(data)
        self.messages += 1
        for sink in self.sinks.get(session, ()):
            sink.feed(data)

    async def open(self) -> View:
        raise NotImplementedError

    async def send(self, session: str, data: str) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    @property
    def sockets(self) -> int:
        raise NotImplementedError


async def _connect(url: str, server: JupyterServer) -> WebSocketClientConnection:
    from tornado.httpclient import HTTPRequest

    req = HTTPRequest(url, headers=server.headers, request_timeout=30)
    return await websocket_connect(req, max_message_size=MAX_MESSAGE)


class TerminadoView(View):
    """One ``terminals/websocket/<name>`` socket per session (terminado protocol)."""

    transport = "terminado"

    def __init__(self, server: JupyterServer, sessions: list[str]):
        super().__init__(server, sessions)
        self.conns: dict[str, WebSocketClientConnection] = {}
        self.tasks: list[asyncio.Task[None]] = []

    async def open(self) -> TerminadoView:
        async def one(name: str) -> None:
            conn = await _connect(f"{self.server.ws}terminals/websocket/{name}", self.server)
            first = await conn.read_message()
            if first is None or json.loads(first)[0] != "setup":
                raise RuntimeError(f"terminado {name}: expected setup, got {first!r}")
            self.conns[name] = conn
            self.tasks.append(asyncio.ensure_future(self._reader(name, conn)))

        await asyncio.gather(*(one(n) for n in self.sessions))
        return self

    async def _reader(self, name: str, conn: WebSocketClientConnection) -> None:
        while True:
            msg = await conn.read_message()
            if msg is None:
                return
            assert isinstance(msg, str)
            m = json.loads(msg)
            if m[0] == "stdout":
                self._deliver(name, m[1])
            elif m[0] == "disconnect":
                return

    async def send(self, session: str, data: str) -> None:
        await self.conns[session].write_message(json.dumps(["stdin", data]))

    async def close(self) -> None:
        for c in self.conns.values():
            c.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    @property
    def sockets(self) -> int:
        return len(self.sessions)


class TermmuxView(View):
    """One ``api/termmux/socket`` attached to every session (termmux protocol v1)."""

    transport = "termmux"

    def __init__(self, server: JupyterServer, sessions: list[str]):
        super().__init__(server, sessions)
        self.conn: Optional[WebSocketClientConnection] = None
        self.task: Optional[asyncio.Task[None]] = None
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.ids = itertools.count(1)
        self.exited: set[str] = set()

    async def open(self) -> TermmuxView:
        self.conn = await _connect(f"{self.server.ws}api/termmux/socket", self.server)
        self.task = asyncio.ensure_future(self._reader())
        answers = await asyncio.gather(
            *(
                self.request({"type": "session.attach", "sessionId": s, "replay": False})
                for s in self.sessions
            )
        )
        for s, a in zip(self.sessions, answers):
            if a.get("type") != "session.attached":
                raise RuntimeError(f"termmux attach {s} refused: {a}")
        return self

    async def request(self, msg: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
        """Send a message with a fresh ``id`` and wait for the answer that echoes it."""
        assert self.conn is not None
        i = next(self.ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[i] = fut
        await self.conn.write_message(json.dumps({**msg, "id": i}))
        return await asyncio.wait_for(fut, timeout)

    async def _reader(self) -> None:
        assert self.conn is not None
        while True:
            msg = await self.conn.read_message()
            if msg is None:
                for f in self.pending.values():
                    if not f.done():
                        f.set_exception(
                            ConnectionError(f"termmux socket closed ({self.conn.close_code})")
                        )
                return
            if not isinstance(msg, str):
                self.errors.append("binary frame from server")
                continue
            m = json.loads(msg)
            t = m.get("type")
            if t == "terminal.output":
                self._deliver(m["sessionId"], m["data"])
                continue
            i = m.get("id")
            if i is not None and i in self.pending:
                f = self.pending.pop(i)
                if not f.done():
                    f.set_result(m)
            elif t == "error":
                self.errors.append(f"unsolicited error: {m}")
            elif t == "session.exited":
                self.exited.add(m.get("sessionId"))
            elif t == "session.detached":
                self.errors.append(f"unsolicited detach: {m}")

    async def send(self, session: str, data: str) -> None:
        assert self.conn is not None
        await self.conn.write_message(
            json.dumps({"type": "terminal.input", "sessionId": session, "data": data})
        )

    async def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)

    @property
    def sockets(self) -> int:
        return 1


TRANSPORTS: dict[str, type[View]] = {"terminado": TerminadoView, "termmux": TermmuxView}


async def open_view(transport: str, server: JupyterServer, sessions: list[str]) -> View:
    """Open one client's view of ``sessions`` over ``transport``."""
    return await TRANSPORTS[transport](server, sessions).open()
