"""Fixtures for the browser tests: a real `jupyter lab` subprocess (with jupyter-termmux installed),
a loopback TCP proxy in front of it that can cut every connection, and headless Chromium.

Every wait waits for a condition (a sentinel string in a terminal, a DOM state), never a fixed time.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from benchmarks.proxy import ProxyThread

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


@dataclass
class LabServer:
    """A running `jupyter lab` subprocess, reached through a cuttable proxy."""

    proc: subprocess.Popen[bytes]
    port: int
    proxy: ProxyThread
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


def _wait_ready(server: LabServer, timeout: float = 180) -> None:
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
    proxy = ProxyThread(port).start()
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


#: Playwright's default for every wait of a page (ms). Generous: the CI machine has 2 cores
#: shared with other jobs, and a wait that passes in 2 s alone can take 20 s under load; a
#: test that really hangs is still stopped by pytest-timeout.
PAGE_TIMEOUT_MS = int(os.environ.get("TERMMUX_E2E_TIMEOUT_MS", "90000"))

log = logging.getLogger(__name__)

#: Errors raised while closing a test's pages or browser, for the run's summary.
TEARDOWN_ERRORS: list[str] = []


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Closing a browser fails no test (its checks were all done): say so at the end."""
    for line in TEARDOWN_ERRORS:
        terminalreporter.write_line(f"termmux: ignored while closing the browser: {line}")


def close_quietly(what: str, close: Callable[[], Any]) -> None:
    """Run ``close``; a Playwright error (the browser already died: TargetClosedError) is logged,
    not raised, so a teardown never turns a test that passed into an error."""
    try:
        close()
    except playwright_sync.Error as e:
        test = os.environ.get("PYTEST_CURRENT_TEST", "?")
        line = f"{test}: {what}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        log.warning("%s", line)
        TEARDOWN_ERRORS.append(line)


@pytest.fixture(scope="package")
def playwright() -> Iterator[Any]:
    """Sync Playwright. Package-scoped: it keeps an event loop running in this thread, which
    must be gone before pytest-jupyter's tests run."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        pytest.skip("chromium is not installed")
    with playwright_sync.sync_playwright() as pw:
        yield pw


@pytest.fixture
def browser(playwright: Any) -> Iterator[Any]:
    """A headless Debian Chromium of this test's own: a browser that died in one test (seen in
    CI while a context closed under load) cannot take the next test with it."""
    b = playwright.chromium.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=PAGE_TIMEOUT_MS
    )
    yield b
    if b.is_connected():
        close_quietly("closing Chromium", b.close)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (the console kept for failure messages); every
    context opened is closed after the test, quietly (``close_quietly``)."""
    contexts: list[Any] = []

    def make(**context_args: Any) -> Any:
        context_args.setdefault("viewport", {"width": 1280, "height": 800})
        context = browser.new_context(**context_args)
        contexts.append(context)
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        p = context.new_page()
        logs: list[str] = []
        p.on("console", lambda m: logs.append(f"{m.type}: {m.text}"))
        p.on("pageerror", lambda e: logs.append(f"pageerror: {e}"))
        p.console_logs = logs  # type: ignore[attr-defined]
        return p

    yield make
    for context in contexts:
        close_quietly("closing a browser context", context.close)


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A fresh browser context and page."""
    return new_page()


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
