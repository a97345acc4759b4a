"""Fixtures for the browser tests: a real `jupyter lab` subprocess (with jupyter-termmux installed),
a loopback TCP proxy in front of it that can cut every connection, and headless Chromium.

Every wait waits for a condition (a sentinel string in a terminal, a DOM state), never a fixed time.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

playwright_sync = pytest.importorskip("playwright.sync_api")

CHROMIUM = os.environ.get("TERMMUX_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"


def free_port() -> int:
    """Return a TCP port that is free on loopback right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class TcpProxy:
    """A loopback TCP proxy in its own thread; `cut_all()` aborts every proxied connection,
    which the browser sees as a dropped WebSocket (close code 1006), as after a network failure.
    While `refuse` is set, connections whose request line names `refuse_marker` (the termmux
    socket) are aborted at once, so the page stays in `reconnecting`."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self.refuse = False
        # Gateways that drop Sec-WebSocket-Protocol (jupyter_server#1310): from the browser's
        # request (the server then sees no offer) or from the server's 101 answer.
        self.strip_request_subprotocol = False
        self.strip_answer_subprotocol = False
        self.refuse_marker = b"api/termmux/socket"
        self._loop = asyncio.new_event_loop()
        self._conns: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)

    def start(self) -> None:
        """Start listening on a free loopback port."""
        self._thread.start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._listen())
        self._ready.set()
        self._loop.run_forever()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._proxy(reader, writer)
        except asyncio.CancelledError:
            # stop() cancels every connection; a cancelled handler task would be logged as
            # an error by asyncio's stream callback.
            writer.transport.abort()

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
        self._conns.update((writer, up_writer))
        up_writer.write(_strip_subprotocol(first) if self.strip_request_subprotocol else first)

        async def pipe(
            src: asyncio.StreamReader, dst: asyncio.StreamWriter, strip: bool = False
        ) -> None:
            try:
                while data := await src.read(65536):
                    if strip:
                        # The 101 answer comes first and whole (a few hundred bytes).
                        data, strip = _strip_subprotocol(data), False
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                dst.transport.abort()
                self._conns.discard(dst)

        strip = self.strip_answer_subprotocol
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer, strip))

    def cut_all(self) -> int:
        """Abort every open proxied connection; return how many TCP streams were cut."""

        async def cut() -> int:
            conns = list(self._conns)
            self._conns.clear()
            for w in conns:
                w.transport.abort()
            return len(conns)

        return asyncio.run_coroutine_threadsafe(cut(), self._loop).result(10)

    def stop(self) -> None:
        """Stop the proxy thread."""

        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for w in list(self._conns):
                w.transport.abort()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


def _strip_subprotocol(head: bytes) -> bytes:
    """Drop the Sec-WebSocket-Protocol header line from an HTTP head."""
    lines = head.split(b"\r\n")
    return b"\r\n".join(
        line for line in lines if not line.lower().startswith(b"sec-websocket-protocol:")
    )


@dataclass
class LabServer:
    """A running `jupyter lab` subprocess, reached through a cuttable proxy."""

    proc: subprocess.Popen[bytes]
    port: int
    proxy: TcpProxy
    base_url: str
    token: str
    root_dir: Path
    log_path: Path
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Base URL of the server as the browser sees it (through the proxy)."""
        return f"http://127.0.0.1:{self.proxy.port}{self.base_url}"

    def lab_url(self) -> str:
        """URL that opens JupyterLab with a fresh workspace and logs in with the token."""
        return f"{self.url}lab?reset&token={self.token}"

    def log(self) -> str:
        """The server's output so far."""
        return self.log_path.read_text(errors="replace")


def _wait_ready(server: LabServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}{server.base_url}api/status"
    req = urllib.request.Request(url, headers={"Authorization": f"token {server.token}"})
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited early:\n{server.log()}")
        try:
            with urllib.request.urlopen(req, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)  # polling a port that is not open yet; the condition is the 200
    raise RuntimeError(f"jupyter lab did not start in {timeout}s:\n{server.log()}")


def start_lab(
    tmp_path: Path, base_url: str = "/", config: dict[str, Any] | None = None
) -> LabServer:
    """Start `jupyter lab` on loopback with a token, temp dirs, the given base_url and, if
    given, `config` as its jupyter_server_config.json (e.g. TermMuxApp.profiles)."""
    root = tmp_path / "root"
    for d in ("root", "settings", "workspaces", "config", "runtime", "data"):
        (tmp_path / d).mkdir(exist_ok=True)
    if config is not None:
        (tmp_path / "config" / "jupyter_server_config.json").write_text(json.dumps(config))
    # No "official Jupyter news?" toast over the terminals.
    notif = tmp_path / "settings" / "@jupyterlab" / "apputils-extension"
    notif.mkdir(parents=True, exist_ok=True)
    (notif / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    port = free_port()
    token = secrets.token_hex(16)
    env = dict(os.environ)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"),
        SHELL="/bin/bash",
        PS1="$ ",
    )
    # The jupyter in the running interpreter's env (and node-free: the labextension is prebuilt).
    bindir = str(Path(sys.executable).parent)
    env["PATH"] = bindir + os.pathsep + env.get("PATH", "")
    log_path = tmp_path / "jupyter-lab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={base_url}",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.user_settings_dir={tmp_path / 'settings'}",
        f"--LabApp.workspaces_dir={tmp_path / 'workspaces'}",
        "--LabApp.news_url=",
        "--TerminalManager.cull_inactive_timeout=0",
    ]
    log = log_path.open("wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=root)
    proxy = TcpProxy(port)
    proxy.start()
    server = LabServer(proc, port, proxy, base_url, token, root, log_path)
    server.extra.update(cmd=cmd, env=env)
    try:
        _wait_ready(server)
    except Exception:
        stop_lab(server)
        raise
    return server


def restart_lab(server: LabServer) -> None:
    """Stop `jupyter lab` with SIGTERM, as Ctrl+C does, and start it again on the same port and
    directories; the proxy (the page's address) stays up, so the page reconnects by itself."""
    server.proc.terminate()
    server.proc.wait(30)
    log = server.log_path.open("ab")
    server.proc = subprocess.Popen(
        server.extra["cmd"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=server.extra["env"],
        cwd=server.root_dir,
    )
    _wait_ready(server)


def stop_lab(server: LabServer) -> None:
    """Stop the server (by its own PID) and the proxy."""
    server.proxy.stop()
    if server.proc.poll() is None:
        server.proc.terminate()
        try:
            server.proc.wait(15)
        except subprocess.TimeoutExpired:
            server.proc.kill()
            server.proc.wait(5)


#: Tests before which Chromium had to be launched again (it crashed), for the run's summary.
RELAUNCHES: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """A crash between tests fails none of them: say so at the end of the run."""
    for test in RELAUNCHES:
        terminalreporter.write_line(f"termmux: Chromium had crashed; relaunched before {test}")


class Chromium:
    """The package's headless Chromium, launched again if it went away: one browser crash (seen
    once in CI, while a test's context closed) must not fail every browser test after it."""

    def __init__(self, pw: Any) -> None:
        self._pw = pw
        self._browser: Any = None

    def get(self) -> Any:
        if self._browser is not None and not self._browser.is_connected():
            RELAUNCHES.append(os.environ.get("PYTEST_CURRENT_TEST", "?"))
            self._browser = None
        if self._browser is None:
            self._browser = self._pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self._browser

    def close(self) -> None:
        if self._browser is not None and self._browser.is_connected():
            self._browser.close()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Chromium]:
    """Headless Debian Chromium driven by Playwright. Package-scoped: sync Playwright keeps an
    event loop running in this thread, which must be gone before pytest-jupyter's tests run."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed")
    with playwright_sync.sync_playwright() as pw:
        c = Chromium(pw)
        yield c
        c.close()


@pytest.fixture
def browser(chromium: Chromium) -> Any:
    """The running browser (relaunched first if the last one crashed)."""
    return chromium.get()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab at base_url '/'."""
    server = start_lab(tmp_path)
    yield server
    stop_lab(server)


@pytest.fixture
def lab_factory(tmp_path: Path) -> Iterator[Callable[..., LabServer]]:
    """Start JupyterLab with options (e.g. base_url); every server started is stopped."""
    servers: list[LabServer] = []

    def make(base_url: str = "/", config: dict[str, Any] | None = None) -> LabServer:
        sub = tmp_path / f"lab{len(servers)}"
        sub.mkdir()
        servers.append(start_lab(sub, base_url, config))
        return servers[-1]

    yield make
    for s in servers:
        stop_lab(s)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page, with the console kept for failure messages."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    p = context.new_page()
    p.set_default_timeout(30_000)
    logs: list[str] = []
    p.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
    p.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
    p.console_logs = logs  # type: ignore[attr-defined]
    yield p
    context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Folder for screenshots (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


#: Screenshots the docs show; committed, and refreshed from a test run only when asked.
DOCS_IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def publish(shot: Path, name: str) -> None:
    """Copy a screenshot to ``docs/images/<name>`` when TERMMUX_UPDATE_IMAGES=1, so running
    the tests leaves the clone as it was."""
    if os.environ.get("TERMMUX_UPDATE_IMAGES") == "1":
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGES / name)


@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    """Override pytest-jupyter's autouse loop fixture: it would close the event loop that sync
    Playwright keeps running for the whole session."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    """Override pytest-jupyter's autouse in-process server cleanup: these tests run JupyterLab in
    a subprocess, and its cleanup would drive the event loop sync Playwright is running."""
    yield None
