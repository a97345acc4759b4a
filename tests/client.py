"""The one Python client of the termmux socket that the tests use, for protocol v1 and v2.

``FrameLog`` decodes and records every frame a socket receives (``FrameLog.receive`` is the
single receive path: JSON control messages, and v2 binary output frames decoded by
``jupyter_termmux.frames``), acknowledges v2 output when asked to, and wakes up whoever waits
for a frame, a string in a session's output or any condition. Two transports feed it:
``Client`` (tornado's WebSocket client, read continuously) and ``RawClient`` (a plain TCP
socket with a small receive buffer, which can stop reading for real).

The benchmarks keep their own clients on purpose: ``benchmarks/transports.py`` is the measured
client (sinks, verifiers) and ``benchmarks/wsclient.py`` an outside client on another WebSocket
library that rechecks the figures; ``benchmarks`` never imports ``tests``.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import re
import socket
import struct
from typing import Any, Callable

import protocol_check
import tornado.websocket
from tornado.httpclient import HTTPRequest

from jupyter_termmux import frames

#: How long a wait lasts before it fails (s). Generous: the CI machine has 2 cores shared with
#: other jobs; a wait ends as soon as its condition holds, so only a failure takes this long.
TIMEOUT = 30.0

BINARY = "<binary>"

#: The subprotocol a v2 client offers.
V2 = "termmux.v2"


class FrameLog:
    """Collects the frames of one socket, the output per session and channel, and wakes waiters.

    ``frames`` holds every message in arrival order: control messages as parsed, binary frames
    as ``{"type": "<binary>", "kind", "channel", "offset", "bytes", "data"}`` (``bytes`` is the
    whole frame's length, ``data`` the payload, left out when ``keep`` is False).
    """

    def __init__(
        self, name: str, ack: bool = False, ack_delay: float = 0.0, keep: bool = True
    ) -> None:
        self.name = name
        #: Acknowledge each v2 output frame as it arrives (else count it in ``unacked``).
        self.ack = ack
        #: Acknowledge each frame this many seconds after it arrives (a slower page).
        self.ack_delay = ack_delay
        #: Keep every payload; else only each channel's last 64 KiB (``tails``), for floods of
        #: many MB, whose offsets are checked as frames come (``gaps``).
        self.keep = keep
        self.frames: list[dict[str, Any]] = []
        #: The control (JSON) messages alone, in order.
        self.control: list[dict[str, Any]] = []
        #: Every message in arrival order: a control message's type, or "frame:<channel>".
        self.sequence: list[str] = []
        #: v1 output per session: (frame index, text).
        self.chunks: dict[str, list[tuple[int, str]]] = {}
        #: v2 output frames, decoded (only while ``keep``).
        self.outputs: list[frames.OutputFrame] = []
        self.channels: dict[int, str] = {}
        self.tails: dict[int, bytes] = {}
        self.next_offset: dict[int, int] = {}
        self.gaps: list[tuple[int, int, int]] = []  # (channel, expected offset, frame's offset)
        self.unacked: dict[int, int] = {}
        self.close_code: int | None = None
        #: This side has begun to close: nothing more is sent.
        self.closing = False
        self.closed = asyncio.Event()
        self.changed = asyncio.Event()
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[int]]] = []
        self._ids = itertools.count(1)
        #: The protocol version the socket speaks, when the transport knows it.
        self.version: int | None = None

    # -- receiving: every frame from the server comes through here ---------------------------
    def receive(self, msg: str | bytes) -> None:
        """Check one frame from the server against the protocol's declaration, decode it,
        record it, acknowledge it, wake the waiters."""
        protocol_check.received(msg, self.version)
        if isinstance(msg, str):
            self._record(json.loads(msg))
        else:
            self._record(self._binary(msg))

    def _binary(self, msg: bytes) -> dict[str, Any]:
        try:
            out = frames.decode(msg)
        except ValueError as e:
            return {"type": BINARY, "bytes": len(msg), "invalid": str(e)}
        ch, n = out.channel, len(out.payload)
        if self.keep:
            self.outputs.append(out)
        else:
            expected = self.next_offset.get(ch, out.offset)
            if out.type == frames.FrameType.OUTPUT and out.offset != expected:
                self.gaps.append((ch, expected, out.offset))
            self.tails[ch] = (self.tails.get(ch, b"") + out.payload)[-65536:]
        self.next_offset[ch] = out.offset + n
        if n and self.ack:
            if self.ack_delay:
                asyncio.get_running_loop().call_later(self.ack_delay, self._ack, ch, n)
            else:
                self._ack(ch, n)
        elif n:
            self.unacked[ch] = self.unacked.get(ch, 0) + n
        frame: dict[str, Any] = {
            "type": BINARY,
            "kind": int(out.type),
            "channel": ch,
            "offset": out.offset,
            "bytes": len(msg),
        }
        if self.keep:
            frame["data"] = out.payload
        return frame

    def _ack(self, channel: int, n: int) -> None:
        """Return ``n`` bytes of credit, unless this side already closed the socket (frames
        still arrive until the server's close answer)."""
        if not self.closing:
            self.send({"type": "ack", "channel": channel, "bytes": n})

    def _record(self, frame: dict[str, Any]) -> None:
        index = len(self.frames)
        self.frames.append(frame)
        kind = frame.get("type")
        if kind == BINARY:
            self.sequence.append(f"frame:{frame.get('channel')}")
        else:
            self.control.append(frame)
            self.sequence.append(str(kind))
            if kind == "terminal.output" and isinstance(frame.get("sessionId"), str):
                self.chunks.setdefault(frame["sessionId"], []).append(
                    (index, frame.get("data", ""))
                )
            elif kind == "session.attached" and isinstance(frame.get("channel"), int):
                self.channels[frame["channel"]] = frame["sessionId"]
        self.changed.set()
        for waiter in list(self._waiters):
            pred, fut = waiter
            if fut.done():
                self._waiters.remove(waiter)
                continue
            try:
                hit = pred(frame)
            except Exception as e:  # noqa: BLE001 -- a broken predicate must fail the test, not hang it
                fut.set_exception(e)
                self._waiters.remove(waiter)
                continue
            if hit:
                fut.set_result(index)
                self._waiters.remove(waiter)

    def _on_close(self, code: int | None) -> None:
        self.close_code = code
        self.closed.set()
        self.changed.set()
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(
                    AssertionError(f"{self.name}: socket closed (code {code}) while waiting")
                )
        self._waiters.clear()

    # -- reading what was collected -------------------------------------------------------------
    def text(self, sid: str, since: int = 0, replay: bool | None = None) -> str:
        """The v1 output of ``sid`` received in frames at index >= ``since``."""
        parts = []
        for index, data in self.chunks.get(sid, []):
            if index < since:
                continue
            if replay is not None and bool(self.frames[index].get("replay")) != replay:
                continue
            parts.append(data)
        return "".join(parts)

    def stream(
        self, channel: int, kinds: tuple[int, ...] = (1, 2), since: int | None = None
    ) -> bytes:
        """The v2 payload bytes of ``channel`` of the given frame kinds (from frame index
        ``since`` on, if given); without ``keep``, the channel's last 64 KiB."""
        if not self.keep:
            return self.tails.get(channel, b"")
        if since is None:
            return b"".join(
                f.payload for f in self.outputs if f.channel == channel and f.type in kinds
            )
        return b"".join(
            f["data"]
            for f in self.frames[since:]
            if f.get("type") == BINARY and f.get("channel") == channel and f["kind"] in kinds
        )

    def contiguous(self, channel: int, start: int | None = None, chars: bool = False) -> bytes:
        """The v2 bytes of ``channel`` (every kind), asserting that each frame starts where the
        one before it ended (the first at ``start``, when given): nothing lost or doubled
        between them. ``chars``: each frame holds whole UTF-8 characters (PROTOCOL.md: the
        server never splits one between frames)."""
        assert self.keep, f"{self.name} keeps no frames (keep=False)"
        parts = [f for f in self.outputs if f.channel == channel]
        if start is not None and parts:
            assert parts[0].offset == start, (f"{self.name}: first frame", parts[0].offset, start)
        for a, b in zip(parts, parts[1:]):
            assert b.offset == a.offset + len(a.payload), (
                f"{self.name}: offset gap on channel {channel}: "
                f"{a.offset}+{len(a.payload)} then {b.offset}"
            )
        if chars:
            for f in parts:
                f.payload.decode("utf-8")
        return b"".join(f.payload for f in parts)

    def of_type(self, type_: str, since: int = 0, **fields: Any) -> list[dict[str, Any]]:
        """Frames of ``type_`` at index >= ``since`` whose fields equal ``fields``."""
        return [
            f
            for f in self.frames[since:]
            if f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items())
        ]

    def index_of(self, frame: dict[str, Any]) -> int:
        """Index of this very frame object."""
        for i, f in enumerate(self.frames):
            if f is frame:
                return i
        raise ValueError(frame)

    def summary(self, last: int = 8) -> str:
        """The last frames, shortened, for assertion messages."""
        out = []
        for f in self.frames[-last:]:
            s = json.dumps(
                {k: v for k, v in f.items() if k != "data"} if f["type"] == BINARY else f
            )
            out.append(s if len(s) < 200 else s[:200] + "...")
        return "\n  ".join(out)

    # -- waiting --------------------------------------------------------------------------------
    async def wait_frame(
        self,
        pred: Callable[[dict[str, Any]], bool],
        timeout: float = TIMEOUT,
        since: int = 0,
        what: str = "a frame",
    ) -> dict[str, Any]:
        """Wait for the first frame at index >= ``since`` matching ``pred`` and return it."""
        for f in self.frames[since:]:
            if pred(f):
                return f
        if self.closed.is_set():
            raise AssertionError(f"{self.name}: closed (code {self.close_code}) before {what}")
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._waiters.append((pred, fut))
        try:
            index = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{self.name}: timed out after {timeout}s waiting for {what}; last frames:\n  "
                + self.summary()
            ) from None
        return self.frames[index]

    async def wait_type(
        self, type_: str, timeout: float = TIMEOUT, since: int = 0, **fields: Any
    ) -> dict[str, Any]:
        """Wait for a frame of ``type_`` whose fields equal ``fields``."""
        return await self.wait_frame(
            lambda f: f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items()),
            timeout,
            since,
            what=f"{type_} {fields}",
        )

    async def wait_output(
        self, sid: str, pattern: str | re.Pattern[str], timeout: float = TIMEOUT, since: int = 0
    ) -> re.Match[str]:
        """Wait until the v1 output of ``sid`` (from frame ``since`` on) contains ``pattern``."""
        rx = re.compile(re.escape(pattern)) if isinstance(pattern, str) else pattern
        m = rx.search(self.text(sid, since))
        if m:
            return m
        carry = ""
        found: list[re.Match[str]] = []

        def pred(f: dict[str, Any]) -> bool:
            nonlocal carry
            if f.get("type") != "terminal.output" or f.get("sessionId") != sid:
                return False
            window = carry + f.get("data", "")
            hit = rx.search(window)
            if hit:
                found.append(hit)
                return True
            carry = window[-512:]
            return False

        await self.wait_frame(
            pred, timeout, since=len(self.frames), what=f"{rx.pattern!r} in {sid}"
        )
        return found[0]

    async def until(self, pred: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
        """Wait until ``pred()`` (checked after every frame) returns something truthy."""

        async def wait() -> Any:
            while True:
                got = pred()
                if got:
                    return got
                if self.closed.is_set():
                    raise AssertionError(f"{self.name}: socket closed waiting for {what}")
                self.changed.clear()
                await self.changed.wait()

        try:
            return await asyncio.wait_for(wait(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"{self.name}: timed out after {timeout}s waiting for {what}; last frames:\n  "
                + self.summary()
            ) from None

    async def wait_text(
        self, channel: int, pattern: str, timeout: float = TIMEOUT, since: int | None = None
    ) -> None:
        """Wait until the v2 output of ``channel`` matches the regular expression ``pattern``."""
        rx = re.compile(pattern.encode())
        await self.until(lambda: rx.search(self.stream(channel, since=since)), pattern, timeout)

    # -- sending --------------------------------------------------------------------------------
    def send(self, msg: dict[str, Any] | str) -> None:
        """Send one text frame (a dict is JSON-encoded)."""
        raise NotImplementedError

    async def request(self, msg: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
        """Send ``msg`` with a fresh id and return the frame that answers it (echoing the id)."""
        rid = f"{self.name}-{next(self._ids)}"
        msg = dict(msg, id=rid)
        since = len(self.frames)
        self.send(msg)
        return await self.wait_frame(
            lambda f: f.get("id") == rid, timeout, since, what=f"answer to {msg['type']} {rid}"
        )

    async def attach(
        self, sid: str, replay: bool | None = None, timeout: float = TIMEOUT, **fields: Any
    ) -> dict[str, Any]:
        """Attach (``fields``: since, incarnation, mode...) and assert the answer is
        ``session.attached``."""
        msg: dict[str, Any] = {"type": "session.attach", "sessionId": sid, **fields}
        if replay is not None:
            msg["replay"] = replay
        answer = await self.request(msg, timeout)
        assert answer.get("type") == "session.attached" and answer.get("sessionId") == sid, answer
        return answer

    async def detach(self, sid: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """Detach and assert the answer is ``session.detached``."""
        answer = await self.request({"type": "session.detach", "sessionId": sid}, timeout)
        assert answer.get("type") == "session.detached" and answer.get("sessionId") == sid, answer
        return answer

    async def barrier(self, timeout: float = TIMEOUT) -> int:
        """Ping and wait for the pong: the server has handled every earlier frame of this socket."""
        answer = await self.request({"type": "ping"}, timeout)
        assert answer.get("type") == "pong", answer
        return self.index_of(answer)

    def type(self, sid: str, data: str) -> None:
        """Send ``terminal.input``."""
        self.send({"type": "terminal.input", "sessionId": sid, "data": data})

    def give_credit(self) -> None:
        """Acknowledge everything received so far and from now on (a stalled client that
        catches up)."""
        self.ack = True
        for channel, n in self.unacked.items():
            if n:
                self.send({"type": "ack", "channel": channel, "bytes": n})
        self.unacked.clear()

    async def run(self, sid: str, tag: str = "tm", timeout: float = TIMEOUT) -> int:
        """Type a sentinel echo into ``sid`` and wait for its v1 output; return the frame count."""
        cmd, expected = sentinel(tag)
        since = len(self.frames)
        self.type(sid, cmd)
        await self.wait_output(sid, expected, timeout, since=since)
        return len(self.frames)


_counter = itertools.count(1000)


def sentinel(tag: str = "tm") -> tuple[str, str]:
    """Return (command, expected output): the command computes the marker, so its echo never matches."""
    k = next(_counter)
    return f"echo {tag}_$(({k}+{k}))\r", f"{tag}_{2 * k}"


class Client(FrameLog):
    """A termmux socket over tornado's WebSocket client, read continuously by a task."""

    def __init__(
        self, ws: tornado.websocket.WebSocketClientConnection, name: str, **options: Any
    ) -> None:
        super().__init__(name, **options)
        self.ws = ws
        self.version = 2 if ws.selected_subprotocol else 1
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls, url: str, headers: dict[str, str], name: str, v2: bool = False, **options: Any
    ) -> Client:
        """Open a termmux socket at ``url`` (a server subprocess such as
        ``benchmarks.server.JupyterServer``); ``v2`` offers ``termmux.v2`` and asserts the server
        selected it; ``options`` are ``FrameLog``'s."""
        ws = await tornado.websocket.websocket_connect(
            HTTPRequest(url, headers=headers),
            subprotocols=[V2] if v2 else None,
            max_message_size=256 * 1024 * 1024,
        )
        if v2:
            assert ws.selected_subprotocol == V2, f"{name}: the server did not select {V2}"
        return cls(ws, name, **options)

    async def _read(self) -> None:
        try:
            while True:
                msg = await self.ws.read_message()
                if msg is None:
                    return
                self.receive(msg)
        finally:
            # also when ``receive`` raised: every waiter then fails instead of hanging
            self._on_close(self.ws.close_code)

    def send(self, msg: dict[str, Any] | str) -> None:
        """Send one text frame (a dict is JSON-encoded)."""
        self.ws.write_message(msg if isinstance(msg, str) else json.dumps(msg))

    def send_binary(self, data: bytes) -> None:
        """Send one binary frame."""
        self.ws.write_message(data, binary=True)

    async def close(self, code: int | None = None) -> None:
        """Close the socket (without a status code unless given, as a dropped tab looks to the
        server) and wait until the reader saw the close."""
        self.closing = True
        self.ws.close(code)
        try:
            await asyncio.wait_for(self.closed.wait(), TIMEOUT)
        except asyncio.TimeoutError:
            self._task.cancel()


async def raw_handshake(
    port: int, path: str, headers: dict[str, str], rcvbuf: int | None = None
) -> tuple[socket.socket, bytes]:
    """Upgrade a plain TCP socket to a WebSocket; return it and the bytes read past the headers."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # A small fixed buffer (set before connect, so the TCP window stays small) keeps the
        # kernel from absorbing megabytes once the client stops reading.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    lines = [
        f"GET {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ] + [f"{k}: {v}" for k, v in headers.items()]
    await loop.sock_sendall(sock, ("\r\n".join(lines) + "\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), TIMEOUT)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        sock.close()
        raise AssertionError(f"handshake refused: {status!r}")
    return sock, rest


def ws_frame(opcode: int, payload: bytes) -> bytes:
    """One masked client WebSocket frame (RFC 6455 section 5.2), FIN set."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = struct.pack(">BB", 0x80 | opcode, 0x80 | n)
    elif n < 65536:
        head = struct.pack(">BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        head = struct.pack(">BBQ", 0x80 | opcode, 0x80 | 127, n)
    m = int.from_bytes((mask * (n // 4 + 1))[:n], "big")
    masked = (int.from_bytes(payload, "big") ^ m).to_bytes(n, "big") if n else b""
    return head + mask + masked


class RawClient(FrameLog):
    """A termmux socket on a plain TCP socket with a tiny receive buffer.

    It reads only while ``reading`` is set: ``stall()`` makes the server see a client that really
    stops reading (the kernel buffers fill up and writes stop completing).
    """

    def __init__(self, sock: socket.socket, name: str, rest: bytes, **options: Any) -> None:
        super().__init__(name, **options)
        self.sock = sock
        self.buf = bytearray(rest)
        self.reading = asyncio.Event()
        self.reading.set()
        self.bytes_read = len(rest)
        self._loop = asyncio.get_running_loop()
        self._send_lock = asyncio.Lock()  # frames go out whole and in order
        self._task = asyncio.ensure_future(self._read())

    @classmethod
    async def connect(
        cls,
        port: int,
        path: str,
        headers: dict[str, str],
        name: str,
        rcvbuf: int = 32768,
        **options: Any,
    ) -> RawClient:
        """Open the socket and do the WebSocket handshake (no extensions)."""
        sock, rest = await raw_handshake(port, path, headers, rcvbuf)
        return cls(sock, name, rest, **options)

    async def _fill(self, n: int) -> None:
        while len(self.buf) < n:
            await self.reading.wait()
            chunk = await self._loop.sock_recv(self.sock, 65536)
            if not chunk:
                raise ConnectionError("eof")
            self.bytes_read += len(chunk)
            self.buf += chunk

    async def _read(self) -> None:
        try:
            while True:
                await self._fill(2)
                b0, b1 = self.buf[0], self.buf[1]
                opcode, length, hdr = b0 & 0x0F, b1 & 0x7F, 2
                if length == 126:
                    await self._fill(4)
                    length, hdr = struct.unpack(">H", self.buf[2:4])[0], 4
                elif length == 127:
                    await self._fill(10)
                    length, hdr = struct.unpack(">Q", self.buf[2:10])[0], 10
                await self._fill(hdr + length)
                payload = bytes(self.buf[hdr : hdr + length])
                del self.buf[: hdr + length]
                assert b0 & 0x80, "server fragmented a message"  # tornado never does
                if opcode == 0x1:
                    self.receive(payload.decode("utf-8"))
                elif opcode == 0x2:
                    self.receive(payload)
                elif opcode == 0x9:
                    await self._send_frame(0xA, payload)
                elif opcode == 0x8:
                    code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                    self._on_close(code)
                    return
        except (ConnectionError, OSError):
            self._on_close(None)

    async def _send_frame(self, opcode: int, payload: bytes) -> None:
        frame = ws_frame(opcode, payload)
        async with self._send_lock:
            await self._loop.sock_sendall(self.sock, frame)

    def send(self, msg: dict[str, Any] | str) -> None:
        """Send one text frame (a dict is JSON-encoded)."""
        text = msg if isinstance(msg, str) else json.dumps(msg)
        asyncio.ensure_future(self._send_frame(0x1, text.encode()))

    def stall(self) -> None:
        """Stop reading from the socket (at most one more in-flight recv completes)."""
        self.reading.clear()

    def resume(self) -> None:
        """Read again."""
        self.reading.set()

    async def close(self) -> None:
        """Drop the TCP connection."""
        self.closing = True
        self._task.cancel()
        self.sock.close()

    async def abort(self, rst: bool = True) -> None:
        """Drop the TCP connection without a close frame: with a RST (a crash, a cut cable) or
        with a plain FIN (a process that exits without closing its WebSocket)."""
        self.closing = True
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)  # its fd leaves the selector
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
