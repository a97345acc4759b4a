"""Start and stop a real ``jupyter server`` subprocess on loopback for one scenario."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

from .verify import FLOOD_SCRIPT, GEN_SCRIPT

REPO = Path(__file__).resolve().parent.parent
#: set to a directory holding another ``jupyter_termmux`` (for example a ``git archive`` of a
#: commit) to benchmark that server instead of this checkout's
SERVER_SRC_ENV = "TERMMUX_BENCH_SERVER_SRC"
SHELL = ["/bin/bash", "--norc", "--noprofile"]


def stop_servers_on_sigterm() -> None:
    """Turn SIGTERM into KeyboardInterrupt, so that asyncio cancels the run and every
    ``async with JupyterServer()`` stops its server (started in its own session, a killed
    benchmark would otherwise leave it running)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class JupyterServer:
    """One ``python -m jupyter_server`` process with jupyter_server_terminals and jupyter_termmux.

    Every scenario gets a fresh server so that memory freed by one transport's run cannot be
    reused by (and hide the growth of) the other's.
    """

    def __init__(
        self,
        extra_args: list[str] | None = None,
        log_dir: Path | None = None,
        src: str | None = None,
    ):
        self.extra_args = extra_args or []
        self.src = src or os.environ.get(SERVER_SRC_ENV) or str(REPO)
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.tmp = Path(tempfile.mkdtemp(prefix="tmxb-"))
        self.root = self.tmp / "root"
        self.port = 0
        self.token = secrets.token_hex(16)
        self.ps: psutil.Process | None = None
        self._log: Any = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def gen(self) -> str:
        return str(self.root / "gen.py")

    @property
    def flood(self) -> str:
        return str(self.root / "flood.py")

    async def start(self) -> JupyterServer:
        """Launch the server and wait until ``/api/status`` answers."""
        self.root.mkdir(exist_ok=True)  # a restart keeps the folders and the port
        (self.root / "gen.py").write_text(GEN_SCRIPT, encoding="utf-8")
        (self.root / "flood.py").write_text(FLOOD_SCRIPT, encoding="utf-8")
        for d in ("config", "runtime", "data"):
            (self.tmp / d).mkdir(exist_ok=True)
        self.port = self.port or free_port()
        env = dict(os.environ)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.tmp / "config"),
            JUPYTER_RUNTIME_DIR=str(self.tmp / "runtime"),
            JUPYTER_DATA_DIR=str(self.tmp / "data"),
            HISTFILE="/dev/null",
            PYTHONPATH=os.pathsep.join(
                [self.src] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])
            ),
        )
        env.pop("PS1", None)
        exts = {
            "jupyter_server_terminals": True,
            "jupyter_termmux": True,
            # other extensions installed in the venv add startup time and memory: keep them out
            "jupyterlab": False,
            "jupyter_lsp": False,
            "notebook_shim": False,
        }
        cmd = [
            sys.executable,
            "-m",
            "jupyter_server",
            "--allow-root",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root}",
            # traitlets parses a Python literal here: True/False, not JSON's true/false
            "--ServerApp.jpserver_extensions=" + repr(exts),
            f"--ServerApp.terminado_settings={json.dumps({'shell_command': SHELL})}",
            *self.extra_args,
        ]
        log_path = (self.log_dir or self.tmp) / f"server-{self.port}.log"
        self.log_path = log_path
        self._log = open(log_path, "wb")  # noqa: ASYNC230, SIM115  # the server's, closed in stop()
        self.proc = subprocess.Popen(  # noqa: ASYNC220  # returns at once
            cmd,
            cwd=self.root,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.ps = psutil.Process(self.proc.pid)
        client = AsyncHTTPClient()
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"jupyter server exited early:\n{self.log_tail()}")
            try:
                await client.fetch(
                    self.http + "api/status", headers=self.headers, request_timeout=2
                )
                break
            except (OSError, HTTPClientError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter server did not start:\n{self.log_tail()}")
                await asyncio.sleep(0.1)
        return self

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}"}

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(Path(self.log_path).read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    async def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call the REST API; return the decoded JSON answer (or None)."""
        req = HTTPRequest(
            self.http + path,
            method=method,
            headers=self.headers,
            body=None if body is None else json.dumps(body),
            allow_nonstandard_methods=True,
            request_timeout=30,
        )
        resp = await AsyncHTTPClient().fetch(req)
        return json.loads(resp.body) if resp.body else None

    async def create_terminals(self, names: list[str]) -> None:
        """Start one terminal per name (the same call for both transports)."""
        for name in names:
            await self.api("POST", "api/terminals", {"name": name, "cwd": str(self.root)})

    async def delete_terminals(self, names: list[str]) -> None:
        for name in names:
            with contextlib.suppress(Exception):  # already gone: nothing to clean up
                await self.api("DELETE", f"api/terminals/{name}")

    def rss(self) -> int:
        assert self.ps is not None
        return int(self.ps.memory_info().rss)

    def cpu(self) -> float:
        """User + system CPU seconds of the server process itself (not its shells)."""
        assert self.ps is not None
        t = self.ps.cpu_times()
        return float(t.user + t.system)

    def descendants_running(self, needle: str) -> bool:
        """Whether any process under the server has ``needle`` in its command line."""
        assert self.ps is not None
        for p in self.ps.children(recursive=True):
            try:
                if needle in " ".join(p.cmdline()):
                    return True
            except psutil.Error:
                pass
        return False

    async def halt(self, sig: int = signal.SIGTERM, timeout: float = 30) -> None:
        """Stop the server process alone with ``sig`` and wait for it to exit; its folders,
        port and any process it leaves running stay (``start`` again restarts it)."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not stop on {sig}:\n{self.log_tail()}")
            await asyncio.sleep(0.05)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None

    def left_running(self) -> list[psutil.Process]:
        """Processes of this user working in the server's folder that are not the server's
        descendants: what outlived it (kept terminals' keepers and programs)."""
        mine = []
        for p in psutil.process_iter(["uids", "cwd"]):
            try:
                cwd = p.info["cwd"] or ""
                if p.info["uids"].real == os.getuid() and cwd.startswith(str(self.tmp)):
                    mine.append(p)
            except (psutil.Error, AttributeError, TypeError):
                pass
        if self.ps is not None and self.proc is not None:
            ours = {self.ps.pid} | {k.pid for k in self.ps.children(recursive=True)}
            mine = [p for p in mine if p.pid not in ours]
        return mine

    def _kill_left(self) -> None:
        for k in self.left_running():  # kept terminals, which outlive the server by design
            try:
                k.kill()
            except psutil.Error:
                pass

    async def stop(self) -> None:
        """Stop the server we started (by PID) and any of its descendants that outlive it."""
        if self.proc is None:
            self._kill_left()
            shutil.rmtree(self.tmp, ignore_errors=True)
            return
        kids: list[psutil.Process] = []
        try:
            assert self.ps is not None
            kids = self.ps.children(recursive=True)
        except psutil.Error:
            pass
        if self.proc.poll() is None:
            self.proc.terminate()
            for _ in range(100):
                if self.proc.poll() is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                self.proc.kill()
                self.proc.wait()
        for k in kids:
            try:
                k.kill()
            except psutil.Error:
                pass
        self.proc = None
        self._kill_left()
        if self._log:
            self._log.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    async def __aenter__(self) -> JupyterServer:  # noqa: PYI034  # Self needs Python 3.11
        try:
            return await self.start()
        except BaseException:
            await self.stop()
            raise

    async def __aexit__(self, et: object, ev: object, tb: object) -> None:
        if et is not None and et is not asyncio.CancelledError:
            print(f"--- server log tail ({self.log_path}) ---\n{self.log_tail()}", file=sys.stderr)
        await self.stop()
