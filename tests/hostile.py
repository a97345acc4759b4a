"""Helpers for ``test_hostile.py``: hostile raw sockets, honest clients that measure, RSS.

The server is a real ``jupyter server`` subprocess (``benchmarks.server.JupyterServer``), so its
RSS is its own. The honest clients are the benchmark's v2 client (``benchmarks.transports.
TermmuxV2View``: checks every frame's offset, acks on receipt) with its line verifier
(``benchmarks.verify.StreamVerifier``) fed by the generator the shell runs. The hostile clients
are ``conftest.RawClient`` sockets, which can stop reading for real (a small ``SO_RCVBUF`` and no
``recv``) and be aborted without a close frame.
"""

from __future__ import annotations

import asyncio
import bisect
import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import psutil
from client import RawClient, raw_handshake
from conftest import SOCKET_PATH

REPO = Path(__file__).resolve().parent.parent

from benchmarks.scenarios import RssSampler
from benchmarks.server import JupyterServer
from benchmarks.transports import V2_SUBPROTOCOL, TermmuxV2View
from benchmarks.verify import StreamVerifier, gen_command, lines_for_mb

MB = 1_000_000
ARTIFACTS = REPO / "tests" / "artifacts"


# ------------------------------------------------------------------------------ hostile sockets


async def raw_client(
    server: JupyterServer, name: str, version: int = 2, rcvbuf: int = 32768
) -> RawClient:
    """A termmux socket on a plain TCP socket (v2 when ``version`` is 2), frames sent at once."""
    headers = dict(server.headers)
    if version >= 2:
        headers["Sec-WebSocket-Protocol"] = V2_SUBPROTOCOL
    sock, rest = await raw_handshake(server.port, "/" + "/".join(SOCKET_PATH), headers, rcvbuf)
    # each small frame (an ack, an attach) leaves at once, as a browser's would
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return RawClient(sock, name, rest, keep=False)  # floods: offsets checked, payloads not kept


async def send_now(raw: RawClient, msg: dict[str, Any]) -> None:
    """Send one text frame and wait until the kernel has it (``RawClient.send`` does not wait)."""
    await raw._send_frame(0x1, json.dumps(msg).encode())


# ------------------------------------------------------------------------------ honest clients


class TimedVerifier(StreamVerifier):
    """A line verifier that also notes when each part of the body arrived, for MB/s over any
    interval: (time, body bytes verified so far) after every chunk."""

    def __init__(self, tag: str, nlines: int, on_done: Any = None) -> None:
        super().__init__(tag, nlines, on_done=on_done, binary=True)
        self.times: list[float] = []
        self.positions: list[int] = []

    def feed(self, data: Any) -> None:
        super().feed(data)
        self.times.append(time.perf_counter())
        self.positions.append(self.pos)

    def position_at(self, t: float) -> int:
        """Body bytes verified by time ``t``."""
        i = bisect.bisect_right(self.times, t)
        return self.positions[i - 1] if i else 0


class Flood:
    """One run of the numbered-line generator in ``session``, watched by an honest v2 view."""

    def __init__(self, view: TermmuxV2View, session: str, tag: str, mb: float) -> None:
        self.view = view
        self.session = session
        self.tag = tag
        self.mb = mb
        self.done = asyncio.Event()
        self.verifier = TimedVerifier(tag, lines_for_mb(tag, mb), on_done=self.done.set)
        self.t_start = 0.0
        self.t_stop = 0.0

    async def start(self) -> Flood:
        """Type the generator's command; the clock starts as it goes out."""
        self.view.sinks[self.session] = [self.verifier]
        command = gen_command(self.view.server.gen, self.tag, self.verifier.nlines)
        self.t_start = time.perf_counter()
        await self.view.send(self.session, command)
        return self

    async def running(self, body_bytes: int, timeout: float) -> None:
        """Wait until the view has verified ``body_bytes`` of the flood (it is under way)."""
        deadline = time.monotonic() + timeout
        while self.verifier.pos < body_bytes and not self.done.is_set():
            if self.verifier.state == "bad" or time.monotonic() > deadline:
                raise AssertionError(f"flood {self.tag} did not start: {self.verifier.describe()}")
            await asyncio.sleep(0.01)

    async def wait(self, timeout: float) -> bool:
        """Wait until the end marker is in (or the verifier failed), at most ``timeout``; then
        stop checking (a flood cut here may end in anything: a killed program's last line)."""
        try:
            await asyncio.wait_for(self.done.wait(), max(0.0, timeout))
        except asyncio.TimeoutError:
            pass
        self.t_stop = self.verifier.done_time or time.perf_counter()
        sinks = self.view.sinks[self.session]
        self.view.sinks[self.session] = [x for x in sinks if x is not self.verifier]
        return self.verifier.ok

    def rate_after(self, t_from: float) -> float:
        """MB/s the view verified from ``t_from`` until the end marker (or until it gave up)."""
        end = self.t_stop or time.perf_counter()
        if end <= t_from:  # it was all in before t_from: the whole run's rate
            t_from = self.t_start
        got = self.verifier.position_at(end) - self.verifier.position_at(t_from)
        return got / MB / (end - t_from)

    def errors(self) -> list[str]:
        """What the honest view saw go wrong: lines lost, doubled, reordered; offset gaps;
        truncation (an honest client reads at full speed and acks at once: it never lags)."""
        errs = [] if self.verifier.ok else [self.verifier.describe()]
        return errs + list(self.view.errors)


class Prober:
    """Another session of the server, streamed by another honest client while the hostile one
    works: short numbered floods, one after the other, each to finish within ``timeout``."""

    def __init__(
        self, view: TermmuxV2View, session: str, lines: int, timeout: float, gap: float
    ) -> None:
        self.view = view
        self.session = session
        self.lines = lines
        self.timeout = timeout
        self.gap = gap
        self.seconds: list[float] = []
        self.failures: list[str] = []
        self.stop = asyncio.Event()

    async def run(self, max_probes: int) -> None:
        """Probe until ``stop`` is set, at most ``max_probes`` times; stop at the first failure."""
        for i in range(max_probes):
            if self.stop.is_set():
                return
            done = asyncio.Event()
            ver = StreamVerifier(f"probe{i}", self.lines, on_done=done.set, binary=True)
            self.view.sinks[self.session] = [ver]
            t0 = time.perf_counter()
            await self.view.send(
                self.session, gen_command(self.view.server.gen, ver.tag, ver.nlines)
            )
            try:
                await asyncio.wait_for(done.wait(), self.timeout)
            except asyncio.TimeoutError:
                self.failures.append(
                    f"probe {i}: not through in {self.timeout} s: {ver.describe()}"
                )
                return
            if not ver.ok:
                self.failures.append(f"probe {i}: {ver.describe()}")
                return
            self.seconds.append(time.perf_counter() - t0)
            try:  # a pause between probes (pacing, not a wait for anything)
                await asyncio.wait_for(self.stop.wait(), self.gap)
            except asyncio.TimeoutError:
                pass

    def figures(self) -> dict[str, Any]:
        return {
            "probes": len(self.seconds),
            "probe_max_s": round(max(self.seconds), 3) if self.seconds else None,
            "probe_failures": self.failures,
        }


async def honest_view(server: JupyterServer, sessions: list[str]) -> TermmuxV2View:
    """A v2 view of ``sessions`` that reads at full speed and acks at once."""
    view = TermmuxV2View(server, sessions)
    await view.open()
    return view


async def kill_program(server: JupyterServer, needle: str, timeout: float = 10.0) -> None:
    """SIGKILL the programs under our server whose command line has ``needle`` (by PID), and
    wait until none runs."""
    assert server.ps is not None
    for proc in server.ps.children(recursive=True):
        try:
            if needle in " ".join(proc.cmdline()):
                proc.kill()
        except psutil.Error:
            pass  # gone meanwhile
    deadline = time.monotonic() + timeout
    while server.descendants_running(needle):
        assert time.monotonic() < deadline, f"{needle!r} still runs {timeout} s after SIGKILL"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------ measuring


async def settled_rss(server: JupyterServer) -> int:
    """The server's RSS now: the median of 5 samples 50 ms apart (one sample can catch a
    buffer that is freed a moment later)."""
    xs = []
    for _ in range(5):
        xs.append(server.rss())
        await asyncio.sleep(0.05)
    return sorted(xs)[2]


def rss_sampler(server: JupyterServer, baseline: int, interval: float = 0.05) -> RssSampler:
    """Sample the server's RSS every ``interval`` in a background task, against ``baseline``."""
    sampler = RssSampler(server, interval)
    sampler.baseline = sampler.peak = baseline
    return sampler.start()


async def stop_task(task: asyncio.Task[Any] | None) -> BaseException | None:
    """Cancel a task we started; return what it raised (other than being cancelled)."""
    if task is None:
        return None
    if not task.done():
        task.cancel()
    results = await asyncio.gather(task, return_exceptions=True)
    err = results[0]
    if isinstance(err, asyncio.CancelledError) or not isinstance(err, BaseException):
        return None
    return err


def report(name: str, figures: dict[str, Any]) -> None:
    """Print a test's figures (``pytest -s`` shows them) and keep them, one JSON file per test,
    in ``tests/artifacts/hostile/``."""
    text = json.dumps(figures, sort_keys=True)
    print(f"\nHOSTILE {name} {text}")
    out = ARTIFACTS / "hostile"
    try:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"{name}.json").write_text(text + "\n")
    except OSError as e:  # a read-only checkout: the printed line is enough
        print(f"(not written: {e})", file=sys.stderr)
