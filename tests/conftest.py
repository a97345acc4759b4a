"""Shared fixtures for the termmux socket tests: a real server, real PTYs running bash, real sockets.

Every wait in these tests waits for something (a frame, a sentinel string, a router state), never
for silence or a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import re
import sys
import time
from pathlib import Path
from typing import Any, Callable

import protocol_check
import psutil
import pytest
from traitlets.config import Config

pytest_plugins = ["pytest_jupyter.jupyter_server"]

#: The checkout: tests also use the benchmarks' server launcher and clients (``benchmarks/``).
REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from client import V2, Client, RawClient  # tests/ is on sys.path from here on

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

progress, written = os.environ.get("TM_PROGRESS"), 0

def out(s):
    # with TM_PROGRESS=FILE, FILE holds the count of bytes written so far (a test's sentinel),
    # in writes of 1 KiB (a tty write returns only once all of it is in)
    global written
    b = s.encode()
    while b:
        n = os.write(1, b[:1024] if progress else b)
        b = b[n:]
        if progress:
            written += n
            with open(progress + ".tmp", "w") as f:
                f.write(str(written))
            os.replace(progress + ".tmp", progress)

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
    """Open a termmux socket (``client.Client``, read continuously); closed after the test.

    ``v2=True`` offers the ``termmux.v2`` subprotocol (and asserts the server selected it);
    ``ack``, ``ack_delay`` and ``keep`` are the client's v2 options; other keywords (headers)
    go to the WebSocket request.
    """
    clients: list[Client] = []

    async def _connect(
        name: str | None = None,
        *,
        v2: bool = False,
        ack: bool = True,
        ack_delay: float = 0.0,
        keep: bool = True,
        **kwargs: Any,
    ) -> Client:
        kwargs.setdefault("max_message_size", 256 * 1024 * 1024)
        if v2:
            kwargs["subprotocols"] = [V2]
        ws = await jp_ws_fetch(*SOCKET_PATH, **kwargs)
        if v2:
            assert ws.selected_subprotocol == V2, (
                f"the server did not select {V2} (selected {ws.selected_subprotocol!r})"
            )
        client = Client(ws, name or f"ws{len(clients)}", ack=ack, ack_delay=ack_delay, keep=keep)
        clients.append(client)
        return client

    yield _connect

    async def _close_all() -> None:
        for c in clients:
            if not c.closed.is_set():
                await c.close()

    jp_asyncio_loop.run_until_complete(_close_all())


@pytest.fixture
def connect_v2(connect: Any) -> Any:
    """Open a socket offering ``termmux.v2`` (``v2=False``: offering nothing, so v1)."""

    async def _connect(name: str | None = None, v2: bool = True, **kwargs: Any) -> Client:
        client: Client = await connect(name, v2=v2, **kwargs)
        return client

    return _connect


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
