"""Shared fixtures for the termmux socket tests: a real server, real PTYs running bash, real sockets.

Every wait in these tests waits for something (a frame, a sentinel string, a router state), never
for silence or a fixed time.
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
import sys
import time
from pathlib import Path
from typing import Any, Callable

import protocol_check
import psutil
import pytest
import tornado.httpclient
import tornado.websocket
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: The checkout: tests also use the benchmarks' server launcher and clients (``benchmarks/``).
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SHELL = ["/bin/bash", "--norc", "--noprofile"]
SOCKET_PATH = ("api", "termmux", "socket")
ERROR_CODES_REFUSING_PARSE = {
    "invalid-json",
    "invalid-message",
    "unknown-type",
    "invalid-field",
    "invalid-session-id",
    "binary-frame",
    "message-too-large",
    "internal-error",
}
EXAMPLES = json.loads(
    (Path(__file__).resolve().parent.parent / "protocol" / "examples.json").read_text()
)

# A numbered line: one capital letter (the stream's prefix), seven digits, the PTY's CRLF.
LINE_RE = re.compile(r"([A-Z])(\d{7})\r\n")

# Written to the server's root dir; the typed command never contains the end marker it prints.
GEN_SCRIPT = r"""
import os, sys, time
mode, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])

def out(s):
    b = s.encode()
    while b:
        b = b[os.write(1, b):]

if mode == "burst":
    # n numbered lines as fast as the PTY takes them, then the end marker
    step = 20000
    for start in range(1, n + 1, step):
        out("".join("%s%07d\n" % (prefix, i) for i in range(start, min(n, start + step - 1) + 1)))
    out("tm_end_%s_%d\n" % (prefix, n))
else:
    # numbered lines at about n per second until the file stop_<prefix> exists
    i = 0
    while not os.path.exists("stop_" + prefix):
        i += 1
        out("%s%07d\n" % (prefix, i))
        time.sleep(1.0 / n)
    out("tm_end_%s_%d tm_done_%s\n" % (prefix, i, prefix))
"""

_counter = itertools.count(1000)


def sentinel(tag: str = "tm") -> tuple[str, str]:
    """Return (command, expected output): the command computes the marker, so its echo never matches."""
    k = next(_counter)
    return f"echo {tag}_$(({k}+{k}))\r", f"{tag}_{2 * k}"


def numbered(text: str, prefix: str) -> list[int]:
    """The numbers of the complete numbered lines of ``prefix`` in ``text``, in order."""
    return [int(d) for p, d in LINE_RE.findall(text) if p == prefix]


def assert_contiguous(nums: list[int], first: int | None, last: int | None, what: str) -> None:
    """Assert ``nums`` is exactly first, first+1, ..., last (no gap, no repeat, in order)."""
    assert nums, f"{what}: no numbered line at all"
    if first is not None:
        assert nums[0] == first, f"{what}: first line {nums[0]}, expected {first}"
    if last is not None:
        assert nums[-1] == last, f"{what}: last line {nums[-1]}, expected {last}"
    start = nums[0]
    for i, n in enumerate(nums):
        if n != start + i:
            ctx = nums[max(0, i - 3) : i + 3]
            raise AssertionError(
                f"{what}: line #{i} is {n}, expected {start + i} (around: {ctx}); "
                f"{len(nums)} lines from {nums[0]} to {nums[-1]}"
            )


def foreign_lines(text: str, prefix: str) -> list[str]:
    """Numbered lines in ``text`` that belong to another stream than ``prefix``."""
    return [p + d for p, d in LINE_RE.findall(text) if p != prefix][:5]


def exited(proc: psutil.Process) -> bool:
    """Whether ``proc`` no longer runs (reaped, or a zombie nobody will run again); a reused PID
    is another process (``is_running`` compares creation times)."""
    try:
        return not proc.is_running() or proc.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


async def poll_until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """Poll ``cond`` every 10 ms until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.01)


class FrameLog:
    """Collects the frames of one socket, the output per session, and wakes up waiters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.frames: list[dict[str, Any]] = []
        self.chunks: dict[str, list[tuple[int, str]]] = {}
        self.close_code: int | None = None
        self.closed = asyncio.Event()
        self._waiters: list[tuple[Callable[[dict[str, Any]], bool], asyncio.Future[int]]] = []
        self._ids = itertools.count(1)

    # -- collecting -----------------------------------------------------------------------------
    def _on_frame(self, frame: dict[str, Any]) -> None:
        index = len(self.frames)
        self.frames.append(frame)
        if frame.get("type") == "terminal.output" and isinstance(frame.get("sessionId"), str):
            self.chunks.setdefault(frame["sessionId"], []).append((index, frame.get("data", "")))
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
        for _, fut in self._waiters:
            if not fut.done():
                fut.set_exception(
                    AssertionError(f"{self.name}: socket closed (code {code}) while waiting")
                )
        self._waiters.clear()

    # -- reading what was collected -------------------------------------------------------------
    def text(self, sid: str, since: int = 0, replay: bool | None = None) -> str:
        """The output of ``sid`` received in frames at index >= ``since``."""
        parts = []
        for index, data in self.chunks.get(sid, []):
            if index < since:
                continue
            if replay is not None and bool(self.frames[index].get("replay")) != replay:
                continue
            parts.append(data)
        return "".join(parts)

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
            s = json.dumps(f)
            out.append(s if len(s) < 200 else s[:200] + "...")
        return "\n  ".join(out)

    # -- waiting --------------------------------------------------------------------------------
    async def wait_frame(
        self,
        pred: Callable[[dict[str, Any]], bool],
        timeout: float = 10.0,
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

    async def wait_type(self, type_: str, timeout: float = 10.0, since: int = 0, **fields: Any):
        """Wait for a frame of ``type_`` whose fields equal ``fields``."""
        return await self.wait_frame(
            lambda f: f.get("type") == type_ and all(f.get(k) == v for k, v in fields.items()),
            timeout,
            since,
            what=f"{type_} {fields}",
        )

    async def wait_output(
        self, sid: str, pattern: str | re.Pattern[str], timeout: float = 10.0, since: int = 0
    ) -> re.Match[str]:
        """Wait until the output of ``sid`` (from frame ``since`` on) contains ``pattern``."""
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

    # -- sending --------------------------------------------------------------------------------
    def send(self, msg: dict[str, Any] | str) -> None:
        """Send one text frame (a dict is JSON-encoded)."""
        raise NotImplementedError

    async def request(self, msg: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send ``msg`` with a fresh id and return the frame that answers it (echoing the id)."""
        rid = f"{self.name}-{next(self._ids)}"
        msg = dict(msg, id=rid)
        since = len(self.frames)
        self.send(msg)
        return await self.wait_frame(
            lambda f: f.get("id") == rid, timeout, since, what=f"answer to {msg['type']} {rid}"
        )

    async def attach(self, sid: str, replay: bool | None = None, timeout: float = 10.0):
        """Attach and assert the answer is ``session.attached``."""
        msg: dict[str, Any] = {"type": "session.attach", "sessionId": sid}
        if replay is not None:
            msg["replay"] = replay
        answer = await self.request(msg, timeout)
        assert answer.get("type") == "session.attached" and answer.get("sessionId") == sid, answer
        return answer

    async def detach(self, sid: str, timeout: float = 10.0) -> dict[str, Any]:
        """Detach and assert the answer is ``session.detached``."""
        answer = await self.request({"type": "session.detach", "sessionId": sid}, timeout)
        assert answer.get("type") == "session.detached" and answer.get("sessionId") == sid, answer
        return answer

    async def barrier(self, timeout: float = 10.0) -> int:
        """Ping and wait for the pong: the server has handled every earlier frame of this socket."""
        answer = await self.request({"type": "ping"}, timeout)
        assert answer.get("type") == "pong", answer
        return self.index_of(answer)

    def type(self, sid: str, data: str) -> None:
        """Send ``terminal.input``."""
        self.send({"type": "terminal.input", "sessionId": sid, "data": data})

    async def run(self, sid: str, tag: str = "tm", timeout: float = 10.0) -> int:
        """Type a sentinel echo into ``sid`` and wait for its output; return the frame count."""
        cmd, expected = sentinel(tag)
        since = len(self.frames)
        self.type(sid, cmd)
        await self.wait_output(sid, expected, timeout, since=since)
        return len(self.frames)


class MuxClient(FrameLog):
    """A termmux socket over tornado's WebSocket client, read continuously by a task."""

    def __init__(self, ws: tornado.websocket.WebSocketClientConnection, name: str) -> None:
        super().__init__(name)
        self.ws = ws
        self.binary_frames: list[bytes] = []
        self._task = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        while True:
            msg = await self.ws.read_message()
            if msg is None:
                self._on_close(self.ws.close_code)
                return
            protocol_check.received(msg, 2 if self.ws.selected_subprotocol else 1)
            if isinstance(msg, bytes):
                self.binary_frames.append(msg)
                self._on_frame({"type": "<binary>", "bytes": len(msg)})
                continue
            self._on_frame(json.loads(msg))

    def send(self, msg: dict[str, Any] | str) -> None:
        """Send one text frame (a dict is JSON-encoded)."""
        self.ws.write_message(msg if isinstance(msg, str) else json.dumps(msg))

    def send_binary(self, data: bytes) -> None:
        """Send one binary frame."""
        self.ws.write_message(data, binary=True)

    async def close(self) -> None:
        """Close the socket and wait until the reader saw the close."""
        self.ws.close()
        try:
            await asyncio.wait_for(self.closed.wait(), 10)
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
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
        if not chunk:
            break
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    status = head.split(b"\r\n", 1)[0]
    if b" 101 " not in status:
        sock.close()
        raise AssertionError(f"handshake refused: {status!r}")
    return sock, rest


class RawClient(FrameLog):
    """A termmux socket on a plain TCP socket with a tiny receive buffer.

    It reads only while ``reading`` is set: ``stall()`` makes the server see a client that really
    stops reading (the kernel buffers fill up and writes stop completing).
    """

    def __init__(self, sock: socket.socket, name: str, rest: bytes) -> None:
        super().__init__(name)
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
        cls, port: int, path: str, headers: dict[str, str], name: str, rcvbuf: int = 32768
    ) -> RawClient:
        """Open the socket and do the WebSocket handshake (no extensions)."""
        sock, rest = await raw_handshake(port, path, headers, rcvbuf)
        return cls(sock, name, rest)

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
                    protocol_check.received(payload.decode("utf-8"))
                    self._on_frame(json.loads(payload.decode("utf-8")))
                elif opcode == 0x2:
                    protocol_check.received(payload)
                    self._on_frame({"type": "<binary>", "bytes": len(payload)})
                elif opcode == 0x9:
                    await self._send_frame(0xA, payload)
                elif opcode == 0x8:
                    code = struct.unpack(">H", payload[:2])[0] if len(payload) >= 2 else None
                    self._on_close(code)
                    return
        except (ConnectionError, OSError):
            self._on_close(None)

    async def _send_frame(self, opcode: int, payload: bytes) -> None:
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
        async with self._send_lock:
            await self._loop.sock_sendall(self.sock, head + mask + masked)

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
        self._task.cancel()
        self.sock.close()

    async def abort(self, rst: bool = True) -> None:
        """Drop the TCP connection without a close frame: with a RST (a crash, a cut cable) or
        with a plain FIN (a process that exits without closing its WebSocket)."""
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)  # its fd leaves the selector
        if rst:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


# -------------------------------------------------------------------------------------- fixtures


def _uses_server(request: pytest.FixtureRequest) -> bool:
    return "jp_serverapp" in request.fixturenames


@pytest.fixture(autouse=True)
def jp_asyncio_loop(request: pytest.FixtureRequest) -> Any:
    """pytest-jupyter's event loop, only for tests that run a Jupyter server.

    The plugin (registered above for the whole suite) makes this fixture autouse; other tests
    (the pure ones, the Playwright browser tests with their own loop) must not get a loop set
    and closed under them.
    """
    if not _uses_server(request):
        yield None
        return
    from jupyter_core.utils import ensure_event_loop

    loop = ensure_event_loop(prefer_selector_loop=True)
    yield loop
    loop.close()


@pytest.fixture(autouse=True)
def jp_server_cleanup(request: pytest.FixtureRequest, jp_asyncio_loop: Any) -> Any:
    """pytest-jupyter's server cleanup, only for tests that run a Jupyter server."""
    yield
    if jp_asyncio_loop is None:
        return
    from jupyter_server.serverapp import ServerApp

    app = ServerApp.instance()
    try:
        jp_asyncio_loop.run_until_complete(app._cleanup())
    except (RuntimeError, SystemExit) as e:
        print("ignoring cleanup error", e)
    if hasattr(app, "kernel_manager"):
        app.kernel_manager.context.destroy()
    ServerApp.clear_instance()


@pytest.fixture(autouse=True)
def server_frames_follow_the_schema() -> Any:
    """Fail a test whose clients received a frame protocol/schema.json does not declare."""
    start = len(protocol_check.VIOLATIONS)
    yield
    bad = protocol_check.VIOLATIONS[start:]
    del protocol_check.VIOLATIONS[start:]
    assert not bad, "frames the protocol does not declare:\n  " + "\n  ".join(bad[:5])


@pytest.fixture
def termmux_config() -> dict[str, Any]:
    """TermMuxApp traits for this test (override per module or class)."""
    return {}


@pytest.fixture
def jp_server_config(termmux_config: dict[str, Any]) -> Config:
    """A server with termmux and the terminals extension, running bash without rc files."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_termmux": True, "jupyter_server_terminals": True},
                "terminado_settings": {"shell_command": SHELL},
            },
            "TermMuxApp": termmux_config,
        }
    )


@pytest.fixture
def router(jp_serverapp: Any) -> Any:
    """The termmux Router of the running server."""
    return jp_serverapp.web_app.settings["termmux_router"]


@pytest.fixture
def term_manager(jp_serverapp: Any) -> Any:
    """The server's terminal manager."""
    return jp_serverapp.web_app.settings["terminal_manager"]


@pytest.fixture
def gen_script(jp_root_dir: Path) -> Path:
    """The numbered-line generator in the server's root dir (terminals start there)."""
    path = jp_root_dir / "tm_gen.py"
    path.write_text(GEN_SCRIPT)
    return path


@pytest.fixture
def make_terminal(jp_fetch: Any, jp_root_dir: Path) -> Callable[..., Any]:
    """Create a terminal through the REST API (in the root dir) and return its name."""

    async def _make(name: str | None = None) -> str:
        body: dict[str, Any] = {"cwd": str(jp_root_dir)}
        if name is not None:
            body["name"] = name
        r = await jp_fetch("api", "terminals", method="POST", body=json.dumps(body))
        model = json.loads(r.body.decode())
        if name is not None:
            assert model["name"] == name, model
        return model["name"]

    return _make


@pytest.fixture
def connect(jp_ws_fetch: Any, jp_asyncio_loop: asyncio.AbstractEventLoop) -> Any:
    """Open a termmux socket (tornado client, read continuously); closed after the test."""
    clients: list[MuxClient] = []

    async def _connect(name: str | None = None, **kwargs: Any) -> MuxClient:
        kwargs.setdefault("max_message_size", 256 * 1024 * 1024)
        ws = await jp_ws_fetch(*SOCKET_PATH, **kwargs)
        client = MuxClient(ws, name or f"ws{len(clients)}")
        clients.append(client)
        return client

    yield _connect

    async def _close_all() -> None:
        for c in clients:
            if not c.closed.is_set():
                await c.close()

    jp_asyncio_loop.run_until_complete(_close_all())


@pytest.fixture
def connect_raw(
    jp_serverapp: Any,
    jp_http_port: int,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
    jp_asyncio_loop: asyncio.AbstractEventLoop,
) -> Any:
    """Open a termmux socket on a raw TCP socket that the test can stop reading."""
    clients: list[RawClient] = []

    async def _connect(name: str | None = None, rcvbuf: int = 32768) -> RawClient:
        path = jp_base_url.rstrip("/") + "/" + "/".join(SOCKET_PATH)
        client = await RawClient.connect(
            jp_http_port, path, dict(jp_auth_header), name or f"raw{len(clients)}", rcvbuf
        )
        clients.append(client)
        return client

    yield _connect

    async def _close_all() -> None:
        for c in clients:
            await c.close()

    jp_asyncio_loop.run_until_complete(_close_all())
