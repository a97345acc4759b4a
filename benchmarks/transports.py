"""The transports behind one interface: terminado, termmux (protocol v1), termmux-v2.

A ``View`` is what one browser tab sees of some sessions: for termmux ONE socket attached to all
of them, for terminado one socket per session (its only option). Scenarios drive views, so the
same work runs over every transport. terminado and v1 deliver ``str`` chunks to the sinks; v2
delivers the raw ``bytes`` of its binary frames (``View.binary``), which the verifier checks as
bytes.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
from typing import Any, Protocol

from tornado.websocket import WebSocketClientConnection, websocket_connect

from .server import JupyterServer
from .verify import Chunk, utf8_split

MAX_MESSAGE = 64 * 1024 * 1024

#: protocol/PROTOCOL.md: the subprotocol a v2 client offers, and the binary output header
V2_SUBPROTOCOL = "termmux.v2"
V2_HEADER = struct.Struct("<BIQ")  # type uint8, channel uint32 LE, offset uint64 LE: 13 bytes
V2_OUTPUT, V2_REPLAY = 1, 2


class TransportUnavailable(RuntimeError):
    """The server does not speak this transport (e.g. protocol v2 is not implemented yet)."""


class Sink(Protocol):
    def feed(self, data: Chunk) -> None: ...


class View:
    """Subscriptions of one client to some sessions; output goes to per-session sinks."""

    transport = ""
    #: True when sinks get ``bytes`` (v2 binary frames), False for ``str``
    binary = False

    def __init__(self, server: JupyterServer, sessions: list[str]):
        self.server = server
        self.sessions = list(sessions)
        self.sinks: dict[str, list[Sink]] = {s: [] for s in sessions}
        self.errors: list[str] = []
        self.bytes = 0
        self.messages = 0

    def add_sink(self, session: str, sink: Sink) -> None:
        self.sinks[session].append(sink)

    def _deliver(self, session: str, data: Chunk) -> None:
        self.bytes += len(data)
        self.messages += 1
        for sink in self.sinks.get(session, ()):
            sink.feed(data)

    async def open(self) -> View:
        raise NotImplementedError

    async def send(self, session: str, data: str) -> None:
        raise NotImplementedError

    async def resize(self, session: str, rows: int, cols: int) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    @property
    def sockets(self) -> int:
        raise NotImplementedError


async def _connect(
    url: str, server: JupyterServer, subprotocols: list[str] | None = None
) -> WebSocketClientConnection:
    from tornado.httpclient import HTTPRequest

    req = HTTPRequest(url, headers=server.headers, request_timeout=30)
    conn = await websocket_connect(req, max_message_size=MAX_MESSAGE, subprotocols=subprotocols)
    # Browsers send WebSocket frames with TCP_NODELAY; tornado's client does not set it. Without
    # it a small frame sent while an earlier one is unacknowledged (a v2 ``ack``, then the next
    # keystroke) waits for the server's delayed ACK: 5-45 ms of echo latency that no browser has.
    conn.protocol.set_nodelay(True)  # type: ignore[union-attr]
    return conn


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

    async def resize(self, session: str, rows: int, cols: int) -> None:
        await self.conns[session].write_message(json.dumps(["set_size", rows, cols]))

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
        self.conn: WebSocketClientConnection | None = None
        self.task: asyncio.Task[None] | None = None
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
                self._closed()
                return
            if isinstance(msg, bytes):
                self._binary(msg)
            else:
                self._control(json.loads(msg))

    def _closed(self) -> None:
        assert self.conn is not None
        for f in self.pending.values():
            if not f.done():
                f.set_exception(ConnectionError(f"termmux socket closed ({self.conn.close_code})"))

    def _binary(self, msg: bytes) -> None:
        self.errors.append("binary frame from server")

    def _control(self, m: dict[str, Any]) -> None:
        t = m.get("type")
        if t == "terminal.output":
            self._deliver(m["sessionId"], m["data"])
            return
        i = m.get("id")
        if i is not None and i in self.pending:
            f = self.pending.pop(i)
            if not f.done():
                f.set_result(m)
        elif t == "error":
            self.errors.append(f"unsolicited error: {m}")
        elif t == "session.exited":
            self.exited.add(str(m.get("sessionId")))
        elif t == "session.detached":
            self.errors.append(f"unsolicited detach: {m}")

    async def send(self, session: str, data: str) -> None:
        assert self.conn is not None
        await self.conn.write_message(
            json.dumps({"type": "terminal.input", "sessionId": session, "data": data})
        )

    async def resize(self, session: str, rows: int, cols: int) -> None:
        assert self.conn is not None
        await self.conn.write_message(
            json.dumps(
                {"type": "terminal.resize", "sessionId": session, "rows": rows, "cols": cols}
            )
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


class TermmuxV2View(TermmuxView):
    """One ``api/termmux/socket`` speaking protocol v2 (protocol/PROTOCOL.md).

    Offers the subprotocol ``termmux.v2``, reads ``hello`` first, maps each
    ``session.attached`` ``channel`` to its session, decodes the 13-byte header of every binary
    frame (type, channel, offset; little-endian) and feeds the sinks the payload bytes. It checks
    what a v2 client can check: offsets continue exactly where the previous frame ended, no
    payload starts or ends inside a UTF-8 sequence, no replay frames or truncation when it did
    not ask for them. Credit: a benchmark client parses instantly, so it acks on receipt, one
    ``ack`` per ``limits.ackBytes`` received on a channel, and the remainder of every channel
    whenever it has drained its read (no next message already waiting).
    """

    transport = "termmux-v2"
    binary = True

    def __init__(self, server: JupyterServer, sessions: list[str]):
        super().__init__(server, sessions)
        self.hello: dict[str, Any] = {}
        self.ack_bytes = 16384
        self.channels: dict[int, str] = {}
        self.channel_of: dict[str, int] = {}
        self.attached: dict[str, dict[str, Any]] = {}
        self.next_offset: dict[int, int] = {}
        #: ``session.skipped`` received (a view sent the screen instead of every byte)
        self.skips = 0
        self.unacked: dict[int, int] = {}
        self.acks_sent = 0
        self.acked_bytes = 0
        self.replay_frames = 0

    async def open(self) -> TermmuxV2View:
        url = f"{self.server.ws}api/termmux/socket"
        self.conn = await _connect(url, self.server, subprotocols=[V2_SUBPROTOCOL])
        got = self.conn.selected_subprotocol
        if got != V2_SUBPROTOCOL:
            self.conn.close()
            raise TransportUnavailable(
                f"termmux-v2: the server did not select the WebSocket subprotocol "
                f"{V2_SUBPROTOCOL!r} (it answered {got!r}): this server speaks protocol v1 only "
                f"(see protocol/PROTOCOL.md, 'Negotiation')"
            )
        first = await asyncio.wait_for(self.conn.read_message(), 10)
        hello = json.loads(first) if isinstance(first, str) else None
        if not isinstance(hello, dict) or hello.get("type") != "hello":
            self.conn.close()
            raise TransportUnavailable(
                f"termmux-v2: subprotocol selected, but the first frame is not 'hello': {first!r:.200}"
            )
        self.hello = hello
        self.ack_bytes = int((hello.get("limits") or {}).get("ackBytes", self.ack_bytes))
        self.task = asyncio.ensure_future(self._reader())
        await self.attach(self.sessions)
        return self

    async def attach(self, sessions: list[str], **fields: Any) -> list[dict[str, Any]]:
        """Attach (live output only unless ``fields`` say otherwise); check the v2 answers."""
        answers = await asyncio.gather(
            *(
                self.request({"type": "session.attach", "sessionId": s, "replay": False, **fields})
                for s in sessions
            )
        )
        for s, a in zip(sessions, answers):
            if a.get("type") != "session.attached":
                raise RuntimeError(f"termmux-v2 attach {s} refused: {a}")
            if not isinstance(a.get("channel"), int) or not isinstance(a.get("offset"), int):
                raise TransportUnavailable(
                    f"termmux-v2: session.attached without an integer channel/offset: {a}"
                )
        return answers

    async def _reader(self) -> None:
        assert self.conn is not None
        conn = self.conn
        while True:
            fut = conn.read_message()
            done = getattr(fut, "done", None)
            if done is not None and not done():
                self.flush_acks()  # drained: nothing else waiting, return the remainders
            msg = await fut
            if msg is None:
                self._closed()
                return
            if isinstance(msg, bytes):
                self._binary(msg)
            else:
                self._control(json.loads(msg))

    def _control(self, m: dict[str, Any]) -> None:
        t = m.get("type")
        if t == "session.attached" and isinstance(m.get("channel"), int):
            # register before any frame of the channel is read (they follow this answer)
            ch, s = m["channel"], m.get("sessionId", "")
            self.channels[ch] = s
            self.channel_of[s] = ch
            self.attached[s] = m
            self.next_offset[ch] = int(m.get("offset", 0))
            self.unacked.setdefault(ch, 0)
        elif t == "session.truncated":
            self._truncated(m)
            return
        elif t == "session.skipped":
            # a view far behind a flood skips ahead to the last screenful: forward only
            ch, off = m.get("channel"), m.get("offset")
            want = self.next_offset.get(ch) if isinstance(ch, int) else None
            if not isinstance(off, int) or want is None or off <= want:
                self.errors.append(f"session.skipped not ahead of offset {want}: {m}")
            if isinstance(ch, int) and isinstance(off, int):
                self.next_offset[ch] = off
            self.skips += 1
            return
        elif t == "terminal.output":
            self.errors.append("terminal.output JSON frame on a v2 socket")
            return
        super()._control(m)

    def _truncated(self, m: dict[str, Any]) -> None:
        """A fast benchmark client never falls behind history: truncation is an error here."""
        self.errors.append(f"unexpected session.truncated: {m}")
        ch = m.get("channel")
        if isinstance(ch, int) and isinstance(m.get("offset"), int):
            self.next_offset[ch] = m["offset"]

    def _binary(self, msg: bytes) -> None:
        if len(msg) < V2_HEADER.size:
            self.errors.append(f"binary frame of {len(msg)} bytes, shorter than the header")
            return
        typ, ch, off = V2_HEADER.unpack_from(msg)
        session = self.channels.get(ch)
        if session is None:
            self.errors.append(f"binary frame on unknown channel {ch}")
            return
        payload = msg[V2_HEADER.size :]
        self._output(session, ch, typ, off, payload)
        n = self.unacked[ch] + len(payload)
        if n >= self.ack_bytes:
            self._ack(ch, n)
            n = 0
        self.unacked[ch] = n

    def _output(self, session: str, ch: int, typ: int, off: int, payload: bytes) -> None:
        """Check one frame's place in its channel's stream, then hand its payload to the sinks."""
        want = self.next_offset.get(ch)
        if want is not None and off != want:
            kind = "gap" if off > want else "overlap"
            self.errors.append(
                f"session {session}: frame at offset {off}, expected {want} "
                f"({kind} of {abs(off - want)} bytes)"
            )
        self.next_offset[ch] = off + len(payload)
        if typ != V2_OUTPUT:
            self.replay_frames += 1
            if typ != V2_REPLAY:
                self.errors.append(f"session {session}: unknown frame type {typ}")
            elif self.replay_frames == 1:
                self.errors.append(
                    f"session {session}: replay frame though attached without replay"
                )
        bad = utf8_split(payload)
        if bad:
            self.errors.append(f"session {session}: {bad} at offset {off}")
        self._deliver(session, payload)

    def _ack(self, ch: int, n: int) -> None:
        assert self.conn is not None
        try:
            self.conn.write_message(json.dumps({"type": "ack", "channel": ch, "bytes": n}))
        except Exception:  # noqa: BLE001  # the socket is closing; the reader will say so
            return
        self.acks_sent += 1
        self.acked_bytes += n

    def flush_acks(self) -> None:
        """Return the credit of every byte received and not yet acknowledged."""
        for ch, n in self.unacked.items():
            if n:
                self._ack(ch, n)
                self.unacked[ch] = 0


TRANSPORTS: dict[str, type[View]] = {
    "terminado": TerminadoView,
    "termmux": TermmuxView,
    "termmux-v2": TermmuxV2View,
}


async def open_view(transport: str, server: JupyterServer, sessions: list[str]) -> View:
    """Open one client's view of ``sessions`` over ``transport``."""
    return await TRANSPORTS[transport](server, sessions).open()
