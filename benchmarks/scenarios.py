"""The scenarios. Each one starts a fresh server, runs the same work over one transport, and
returns a plain dict of numbers (and any correctness errors) for the report."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil

from .server import JupyterServer
from .transports import TermmuxV2View, View, open_view
from .verify import Chunk, StreamVerifier, expected_body, gen_command, lines_for_mb

MB = 1_000_000


@dataclass
class Settings:
    """Sizes for one benchmark run (``--smoke`` shrinks all of them)."""

    mb: float = 10.0
    sessions: list[int] = field(default_factory=lambda: [1, 4, 16])
    #: text workloads (verify.TEXTS); ``ascii`` runs at every ``sessions`` count, the others at
    #: ``text_sessions``
    texts: list[str] = field(default_factory=lambda: ["ascii", "mixed"])
    text_sessions: list[int] = field(default_factory=lambda: [4])
    #: (rows, cols) of every terminal in the mixed-text workload
    mixed_size: tuple[int, int] = (50, 200)
    fanout_sockets: int = 4
    samples: int = 150  # per run; 3 runs by default (run.py --latency-runs)
    #: seconds between a sample's erase echo and the next keystroke (a fast typist: ~0.08;
    #: key repeat: 0.033); below termmux's coalesce_delay an echo may wait for a coalesced flush
    key_gap: tuple[float, float] = (0.020, 0.040)
    floods: list[int] = field(default_factory=lambda: [0, 3, 15])
    idle_sessions: int = 32
    scale_sessions: int = 64
    scale_mb: float = 1.0
    mesh_sockets: int = 16
    mesh_per_socket: int = 4
    mesh_mb: float = 1.0
    stall_mb: float = 200.0
    stall_others: int = 4
    stall_hold_max: float = 60.0
    #: fast + stalled client on one shared session (v2): MB the fast one streams per run
    shared_mb: float = 20.0
    stream_timeout: float = 180.0
    server_args: list[str] = field(default_factory=list)
    settle: float = 1.0
    profile: bool = False
    results: Path = Path("benchmarks/results")


class RssSampler:
    """Samples the server's RSS every ``interval`` seconds in the background."""

    def __init__(self, server: JupyterServer, interval: float = 0.02):
        self.server = server
        self.interval = interval
        self.baseline = server.rss()
        self.peak = self.baseline
        self.last = self.baseline
        self.samples: list[tuple[float, int]] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> RssSampler:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def _run(self) -> None:
        while True:
            try:
                self.last = self.server.rss()
            except psutil.Error:
                return
            self.samples.append((time.perf_counter(), self.last))
            self.peak = max(self.peak, self.last)
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / MB


class CpuMeter:
    """CPU seconds of the server, of this load-generating client, and of the whole machine."""

    def __init__(self, server: JupyterServer):
        self.server = server
        self.me = psutil.Process()

    def __enter__(self) -> CpuMeter:  # noqa: PYI034  # Self needs Python 3.11
        self.t0 = time.perf_counter()
        self.s0 = self.server.cpu()
        self.sys0 = self.server.ps.cpu_times().system  # type: ignore[union-attr]
        c = self.me.cpu_times()
        self.c0 = c.user + c.system
        self.m0 = psutil.cpu_times()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.t0
        self.server_s = self.server.cpu() - self.s0
        self.server_sys_s = self.server.ps.cpu_times().system - self.sys0  # type: ignore[union-attr]
        c = self.me.cpu_times()
        self.client_s = c.user + c.system - self.c0
        m1 = psutil.cpu_times()

        def busy(m: Any) -> float:
            return float(sum(m) - m.idle - getattr(m, "iowait", 0.0))

        self.machine_s = busy(m1) - busy(self.m0)

    def as_dict(self, mb: float) -> dict[str, float]:
        return {
            "cpu_s": self.server_s,
            "cpu_s_per_mb": self.server_s / mb,
            "cpu_kernel_share": self.server_sys_s / self.server_s if self.server_s else 0.0,
            "client_cpu_s_per_mb": self.client_s / mb,
            "other_cpu_s_per_mb": max(0.0, self.machine_s - self.server_s - self.client_s) / mb,
            "cores_busy": self.machine_s / self.wall,
            # The server's CPU per second of the run: nearly the same whatever the text, so its
            # CPU per MB follows the MB/s that the programs and the kernel allow.
            "server_cores": self.server_s / self.wall,
        }


class Waiter:
    """A sink that resolves a future when ``needle`` shows up in the output."""

    def __init__(self) -> None:
        self.buf: Chunk = ""
        self.needle = ""
        self.bneedle = b""
        self.fut: asyncio.Future[float] | None = None

    def arm(self, needle: str) -> asyncio.Future[float]:
        self.buf = ""
        self.needle = needle
        self.bneedle = needle.encode()
        self.fut = asyncio.get_running_loop().create_future()
        return self.fut

    def feed(self, data: Chunk) -> None:
        if self.fut is None or self.fut.done():
            return
        needle: Chunk = self.bneedle if isinstance(data, bytes) else self.needle
        if type(self.buf) is not type(data):
            self.buf = data[:0]
        self.buf += data  # type: ignore[operator]
        if needle in self.buf:  # type: ignore[operator]
            self.fut.set_result(time.perf_counter())
        else:
            self.buf = self.buf[-len(needle) :]


class Counter:
    """A sink that only counts characters (bytes on v2; the flood text is ASCII, so the same)."""

    def __init__(self) -> None:
        self.n = 0

    def feed(self, data: Chunk) -> None:
        self.n += len(data)


async def handshake(views: list[View], timeout: float = 20) -> None:
    """Wait until every session's shell runs commands and every view sees its output."""
    waits = []
    sent: set[str] = set()
    for v in views:
        for s in v.sessions:
            w = Waiter()
            v.add_sink(s, w)
            # the echo shows "R$((1+1))DY"; only the shell's output says "R2DY"
            waits.append(w.arm(f"R2DY{s}."))
    for v in views:
        for s in v.sessions:
            if s not in sent:
                sent.add(s)
                await v.send(s, f"echo R$((1+1))DY{s}.\r")
    await asyncio.wait_for(asyncio.gather(*waits), timeout)
    for v in views:
        for s in v.sessions:
            v.sinks[s] = [x for x in v.sinks[s] if not isinstance(x, Waiter)]


async def run_streams(
    views: list[View],
    plan: dict[str, int],
    gen: str,
    timeout: float,
    text: str = "ascii",
    meter: contextlib.AbstractContextManager[Any] | None = None,
) -> tuple[float, float, dict[tuple[int, str], StreamVerifier]]:
    """Start ``plan`` (session -> lines of ``text``) at once; wait for every subscriber's end
    marker.

    ``meter`` (a ``CpuMeter``) is entered just before the commands go out and left when the
    last end marker is in, so it counts the streams and not the building of the expected text
    (about 6 ms per MB of client CPU, and a quarter of a second of machine time at 40 MB).

    Returns (t0, elapsed, verifiers keyed by (view index, session)).
    """
    verifiers: dict[tuple[int, str], StreamVerifier] = {}
    all_done = asyncio.Event()
    remaining = [0]

    def one_done() -> None:
        remaining[0] -= 1
        if remaining[0] == 0:
            all_done.set()

    # built before the clock starts, in the unit each view delivers (str, or bytes for v2)
    bodies = {s: expected_body(s, n, text) for s, n in plan.items()}
    bbodies = {s: b.encode() for s, b in bodies.items()} if any(v.binary for v in views) else {}
    for vi, v in enumerate(views):
        for s in v.sessions:
            if s in plan:
                body: Chunk = bbodies[s] if v.binary else bodies[s]
                ver = StreamVerifier(
                    s, plan[s], on_done=one_done, body=body, text=text, binary=v.binary
                )
                verifiers[(vi, s)] = ver
                v.add_sink(s, ver)
                remaining[0] += 1
    owner: dict[str, View] = {}
    for v in views:
        for s in v.sessions:
            owner.setdefault(s, v)
    with meter if meter is not None else contextlib.nullcontext():
        t0 = time.perf_counter()
        await asyncio.gather(
            *(owner[s].send(s, gen_command(gen, s, n, text)) for s, n in plan.items())
        )
        try:
            await asyncio.wait_for(all_done.wait(), timeout)
        except asyncio.TimeoutError:
            pass
        elapsed = time.perf_counter() - t0
    for v in views:
        for s in v.sessions:
            v.sinks[s] = [x for x in v.sinks[s] if not isinstance(x, StreamVerifier)]
    return t0, elapsed, verifiers


def _credit_stats(view: View, mb: float) -> dict[str, Any]:
    """v2 only: how many acks the client sent per MB."""
    if not isinstance(view, TermmuxV2View):
        return {}
    return {"acks_per_mb": view.acks_sent / mb, "ack_bytes": view.ack_bytes}


def check(verifiers: dict[tuple[int, str], StreamVerifier], views: list[View]) -> list[str]:
    """Every correctness problem seen: lost/reordered/misrouted lines, protocol errors."""
    errs = [v.describe() for v in verifiers.values() if not v.ok]
    for v in views:
        errs.extend(v.errors)
    return errs


async def close_all(views: list[View]) -> None:
    await asyncio.gather(*(v.close() for v in views), return_exceptions=True)


class _Attached:
    """A tool attached to the server by PID for one run (started before, stopped with SIGINT)."""

    cmd: list[str]

    def __init__(self, out: Path):
        self.out = out
        self.proc: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> _Attached:  # noqa: PYI034  # Self needs Python 3.11
        # Popen returns at once: nothing here blocks the loop
        self.proc = subprocess.Popen(  # noqa: ASYNC220
            self.cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        await asyncio.sleep(1.0)  # let it attach
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class PySpy(_Attached):
    """Optional py-spy sampling of the server during one run (raw collapsed stacks)."""

    def __init__(self, pid: int, out: Path, rate: int = 1000):
        super().__init__(out)
        exe = Path(sys.executable).parent / "py-spy"
        # --nonblocking: do not pause the server per sample, so the profile run is not slowed
        self.cmd = [
            str(exe) if exe.exists() else "py-spy",
            "record",
            "--pid",
            str(pid),
            "--rate",
            str(rate),
            "--idle",
            "--nonblocking",
            "--format",
            "raw",
            "--output",
            str(out),
        ]


class Strace(_Attached):
    """Optional ``strace -c`` of the server during one run: system calls per MB."""

    def __init__(self, pid: int, out: Path):
        super().__init__(out)
        self.cmd = ["strace", "-c", "-f", "-q", "-p", str(pid), "-o", str(out)]


def parse_strace(path: Path) -> dict[str, int]:
    """``strace -c`` summary: calls per system call."""
    calls: dict[str, int] = {}
    for ln in path.read_text(errors="replace").splitlines():
        f = ln.split()
        # % time, seconds, usecs/call, calls, [errors], syscall
        if len(f) >= 5 and f[0].replace(".", "").isdigit() and f[3].isdigit() and f[-1] != "total":
            calls[f[-1]] = int(f[3])
    return calls


# ---------------------------------------------------------------- scenarios


async def throughput(
    transport: str,
    n: int,
    st: Settings,
    profile_to: Path | None = None,
    strace_to: Path | None = None,
    text: str = "ascii",
) -> dict[str, Any]:
    """N sessions in one view each print ``st.mb`` MB of ``text`` at once: time, CPU, RSS,
    correctness."""
    async with JupyterServer(st.server_args) as srv:
        names = [f"tp{n}s{i:02d}" for i in range(n)]
        await srv.create_terminals(names)
        view = await open_view(transport, srv, names)
        if text != "ascii":
            rows, cols = st.mixed_size
            for s in names:
                await view.resize(s, rows, cols)
        await handshake([view])
        plan = {s: lines_for_mb(s, st.mb, text) for s in names}
        rss = RssSampler(srv).start()
        cm = CpuMeter(srv)
        if profile_to is not None:
            async with PySpy(srv.pid, profile_to):
                _, elapsed, vers = await run_streams(
                    [view], plan, srv.gen, st.stream_timeout, text, meter=cm
                )
        elif strace_to is not None:
            async with Strace(srv.pid, strace_to):
                _, elapsed, vers = await run_streams(
                    [view], plan, srv.gen, st.stream_timeout, text, meter=cm
                )
        else:
            _, elapsed, vers = await run_streams(
                [view], plan, srv.gen, st.stream_timeout, text, meter=cm
            )
        await rss.stop()
        errors = check(vers, [view])
        payload = sum(v.payload_bytes for v in vers.values()) / MB
        await close_all([view])
        return {
            "sessions": n,
            "text": text,
            "sockets": view.sockets,
            "mb_per_session": st.mb,
            "mb_total": payload,
            "seconds": elapsed,
            "mb_per_s": payload / elapsed,
            **cm.as_dict(payload),
            "frames": view.messages,
            "frames_per_mb": view.messages / payload,
            # characters per frame for str transports, bytes for v2 (the same for ASCII)
            "bytes_per_frame": view.bytes / max(1, view.messages),
            **_credit_stats(view, payload),
            "rss_start_mb": rss.baseline / MB,
            "rss_peak_mb": rss.peak / MB,
            "rss_growth_mb": rss.growth_mb,
            "ok": not errors,
            "errors": errors[:10],
        }


async def fanout(transport: str, st: Settings) -> dict[str, Any]:
    """One session printing ``st.mb`` MB, watched by ``fanout_sockets`` independent clients."""
    async with JupyterServer(st.server_args) as srv:
        name = "fan"
        await srv.create_terminals([name])
        views = [await open_view(transport, srv, [name]) for _ in range(st.fanout_sockets)]
        await handshake(views)
        cpu0 = srv.cpu()
        rss = RssSampler(srv).start()
        _, elapsed, vers = await run_streams(
            views, {name: lines_for_mb(name, st.mb)}, srv.gen, st.stream_timeout
        )
        cpu = srv.cpu() - cpu0
        await rss.stop()
        errors = check(vers, views)
        delivered = sum(v.payload_bytes for v in vers.values()) / MB
        await close_all(views)
        return {
            "watchers": st.fanout_sockets,
            "mb": st.mb,
            "seconds": elapsed,
            "mb_delivered": delivered,
            "mb_per_s_delivered": delivered / elapsed,
            "cpu_s_per_mb": cpu / delivered,
            "rss_growth_mb": rss.growth_mb,
            "ok": not errors,
            "errors": errors[:10],
        }


def pct(xs: list[float], p: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, round(p / 100 * len(s) + 0.5) - 1))
    return s[k]


async def latency(transport: str, floods: int, st: Settings) -> dict[str, Any]:
    """Keystroke echo round trips on an idle session while ``floods`` other sessions flood."""
    async with JupyterServer(st.server_args) as srv:
        names = ["lat"] + [f"fl{i:02d}" for i in range(floods)]
        await srv.create_terminals(names)
        view = await open_view(transport, srv, names)
        await handshake([view])
        counters = {s: Counter() for s in names[1:]}
        for s, c in counters.items():
            view.add_sink(s, c)
        for s in names[1:]:
            await view.send(s, f"python3 {srv.flood} {s} 120\r")
        # let every flood reach steady state before sampling
        deadline = time.monotonic() + 30
        while any(c.n < 256 * 1024 for c in counters.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        probe = Waiter()
        view.add_sink("lat", probe)
        rtts: list[float] = []
        timeouts = 0
        flood0 = sum(c.n for c in counters.values())
        t_start = time.perf_counter()
        for i in range(st.samples):
            fut = probe.arm("a")
            t0 = time.perf_counter()
            await view.send("lat", "a")
            try:
                t1 = await asyncio.wait_for(fut, 5)
                rtts.append((t1 - t0) * 1000)
            except asyncio.TimeoutError:
                timeouts += 1
            fut = probe.arm("\b")
            await view.send("lat", "\x7f")
            try:
                await asyncio.wait_for(fut, 5)
            except asyncio.TimeoutError:
                timeouts += 1
            await asyncio.sleep(random.uniform(*st.key_gap))
        span = time.perf_counter() - t_start
        flood_mb_s = (sum(c.n for c in counters.values()) - flood0) / MB / span
        for s in names[1:]:
            await view.send(s, "\x03")
        errors = list(view.errors)
        if timeouts:
            errors.append(f"{timeouts} echo round trips timed out")
        await close_all([view])
        res: dict[str, Any] = {
            "floods": floods,
            "samples": len(rtts),
            "flood_mb_per_s": flood_mb_s,
            "ok": not errors,
            "errors": errors[:10],
            "rtt_ms": rtts,
        }
        res.update(latency_stats(rtts))
        return res


def latency_stats(rtts: list[float]) -> dict[str, float]:
    """p50/p95/p99/max/mean of round trips in ms."""
    if not rtts:
        return {}
    return {
        "p50_ms": pct(rtts, 50),
        "p95_ms": pct(rtts, 95),
        "p99_ms": pct(rtts, 99),
        "max_ms": max(rtts),
        "mean_ms": statistics.fmean(rtts),
    }


def pool_latency(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Two latency runs of the same condition as one: samples pooled, stats recomputed."""
    rtts = a["rtt_ms"] + b["rtt_ms"]
    errors = a["errors"] + b["errors"]
    return {
        **a,
        "samples": len(rtts),
        "rtt_ms": rtts,
        "errors": errors,
        "ok": not errors,
        "flood_mb_per_s": (a["flood_mb_per_s"] + b["flood_mb_per_s"]) / 2,
        "runs": a.get("runs", 1) + 1,
        **latency_stats(rtts),
    }


async def _settled_rss(srv: JupyterServer, wait: float = 1.0) -> int:
    await asyncio.sleep(wait)
    xs = []
    for _ in range(5):
        xs.append(srv.rss())
        await asyncio.sleep(0.05)
    return int(statistics.median(xs))


async def idle_memory(transport: str, st: Settings) -> dict[str, Any]:
    """Server RSS per idle attached session, and per extra idle socket."""
    async with JupyterServer(st.server_args) as srv:
        k = st.idle_sessions
        names = [f"idle{i:02d}" for i in range(k)]
        await srv.create_terminals(names)
        r0 = await _settled_rss(srv, st.settle)
        view = await open_view(transport, srv, names)
        await handshake([view])
        r1 = await _settled_rss(srv, st.settle)
        extra = [await open_view(transport, srv, [names[0]]) for _ in range(k)]
        await handshake(extra[:1])
        r2 = await _settled_rss(srv, st.settle)
        errors = list(view.errors)
        await close_all([view, *extra])
        return {
            "sessions": k,
            "rss_terminals_only_mb": r0 / MB,
            "kb_per_attached_session": (r1 - r0) / 1024 / k,
            "kb_per_idle_socket": (r2 - r1) / 1024 / k,
            "ok": not errors,
            "errors": errors[:10],
        }


async def scale(transport: str, st: Settings) -> dict[str, Any]:
    """Many sessions streaming at once on one view: all verified, none starved."""
    async with JupyterServer(st.server_args) as srv:
        n = st.scale_sessions
        names = [f"sc{i:02d}" for i in range(n)]
        await srv.create_terminals(names)
        view = await open_view(transport, srv, names)
        await handshake([view], timeout=60)
        plan = {s: lines_for_mb(s, st.scale_mb) for s in names}
        cpu0 = srv.cpu()
        t0, elapsed, vers = await run_streams([view], plan, srv.gen, st.stream_timeout)
        cpu = srv.cpu() - cpu0
        errors = check(vers, [view])
        done = [v.done_time - t0 for v in vers.values() if v.done_time is not None]
        payload = sum(v.payload_bytes for v in vers.values()) / MB
        await close_all([view])
        med = statistics.median(done) if done else float("nan")
        worst = max(done) if done else float("nan")
        starved = [
            v.tag for v in vers.values() if v.done_time is None or v.done_time - t0 > 3 * med
        ]
        return {
            "sessions": n,
            "sockets": view.sockets,
            "mb_per_session": st.scale_mb,
            "seconds": elapsed,
            "mb_per_s": payload / elapsed,
            "cpu_s_per_mb": cpu / payload,
            "completion_median_s": med,
            "completion_max_s": worst,
            "completion_min_s": min(done) if done else float("nan"),
            "max_over_median": worst / med if done else float("nan"),
            "starved": starved,
            "completion_s": sorted(done),
            "ok": not errors,
            "errors": errors[:10],
        }


async def mesh(transport: str, st: Settings) -> dict[str, Any]:
    """``mesh_sockets`` clients, each attached to ``mesh_per_socket`` sessions (overlapping)."""
    async with JupyterServer(st.server_args) as srv:
        n, k = st.mesh_sockets, st.mesh_per_socket
        names = [f"me{i:02d}" for i in range(n)]
        await srv.create_terminals(names)
        views = [
            await open_view(transport, srv, [names[(i + j) % n] for j in range(k)])
            for i in range(n)
        ]
        await handshake(views, timeout=60)
        plan = {s: lines_for_mb(s, st.mesh_mb) for s in names}
        _, elapsed, vers = await run_streams(views, plan, srv.gen, st.stream_timeout)
        errors = check(vers, views)
        delivered = sum(v.payload_bytes for v in vers.values()) / MB
        sockets = sum(v.sockets for v in views)
        await close_all(views)
        return {
            "clients": n,
            "sessions_per_client": k,
            "sockets": sockets,
            "subscriptions": len(vers),
            "mb_per_session": st.mesh_mb,
            "seconds": elapsed,
            "mb_delivered": delivered,
            "mb_per_s_delivered": delivered / elapsed,
            "ok": not errors,
            "errors": errors[:10],
        }


async def stall(transport: str, st: Settings) -> dict[str, Any]:
    """A client in another process stops reading (SIGSTOP) while its session prints a lot."""
    async with JupyterServer(st.server_args) as srv:
        others = [f"ot{i:02d}" for i in range(st.stall_others)]
        await srv.create_terminals(["stall", *others])
        view = await open_view(transport, srv, others)
        await handshake([view])
        nlines = lines_for_mb("stall", st.stall_mb)
        rss = RssSampler(srv, 0.05).start()
        child = await _start_stalled(srv, transport, "stall", nlines, shared=False)
        try:
            # the other sessions stream while the stalled socket holds its session's output
            plan = {s: lines_for_mb(s, st.mb) for s in others}
            _, elapsed, vers = await run_streams([view], plan, srv.gen, st.stream_timeout)
            errors = check(vers, [view])
            payload = sum(v.payload_bytes for v in vers.values()) / MB
            # hold the stall until the generator is done (all output is in the server) or the
            # server's memory stops growing (the PTY is paused), whichever comes first
            hold0 = time.monotonic()
            gen_finished = False
            while time.monotonic() - hold0 < st.stall_hold_max:
                await asyncio.sleep(0.5)
                if not srv.descendants_running("gen.py stall"):
                    gen_finished = True
                    await asyncio.sleep(1.0)
                    break
                recent = [r for t, r in rss.samples if t > time.perf_counter() - 3]
                if time.monotonic() - hold0 > 3 and recent and max(recent) - min(recent) < 2 * MB:
                    break
            held = time.monotonic() - hold0
            growth = rss.growth_mb
            t_resume = time.perf_counter()
            os.kill(child.pid, signal.SIGCONT)
            out, _ = await asyncio.wait_for(child.communicate(), st.stream_timeout)
            drain = time.perf_counter() - t_resume
            res = json.loads(out.decode().strip().splitlines()[-1])
            if not res.get("ok"):
                errors.append(f"stalled client: {res.get('error')}")
        finally:
            await _end_child(child)
        await rss.stop()
        await close_all([view])
        return {
            "stall_mb": st.stall_mb,
            "rss_growth_mb": growth,
            "rss_peak_mb": rss.peak / MB,
            "held_s": held,
            "generator_finished_while_stalled": gen_finished,
            "others": st.stall_others,
            "others_mb_per_s": payload / elapsed,
            "drain_s": drain,
            "stalled_delivered_ok": bool(res.get("ok")),
            "stalled_received_mb": res.get("received", 0) / MB,
            "ok": not errors,
            "errors": errors[:10],
        }


async def _start_stalled(
    srv: JupyterServer, transport: str, session: str, nlines: int, shared: bool
) -> asyncio.subprocess.Process:
    """Start ``stalled_client`` on ``session``; return once it has SIGSTOPped itself."""
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.stalled_client",
        "--transport",
        transport,
        "--url",
        srv.ws,
        "--token",
        srv.token,
        "--session",
        session,
        "--lines",
        str(nlines),
        "--gen",
        srv.gen,
        *(["--shared"] if shared else []),
        stdout=asyncio.subprocess.PIPE,
        cwd=str(Path(__file__).resolve().parent.parent),
    )
    try:
        line = await asyncio.wait_for(child.stdout.readline(), 60)  # type: ignore[union-attr]
        if not line or json.loads(line).get("event") != "stopping":
            rest = await asyncio.wait_for(child.stdout.read(), 10)  # type: ignore[union-attr]
            raise RuntimeError(f"stalled client: {(line + rest).decode(errors='replace')[-500:]}")
        ps = psutil.Process(child.pid)
        for _ in range(200):
            if ps.status() == psutil.STATUS_STOPPED:
                break
            await asyncio.sleep(0.01)
    except BaseException:
        await _end_child(child)
        raise
    return child


async def _end_child(child: asyncio.subprocess.Process) -> None:
    """Make sure the child we started is gone (by its PID)."""
    if child.returncode is None:
        try:
            os.kill(child.pid, signal.SIGCONT)
            child.kill()
        except ProcessLookupError:
            pass
        await child.wait()


async def shared_stall(transport: str, st: Settings) -> dict[str, Any]:
    """v2: a fast and a stalled client (SIGSTOP: reads and acks nothing) on ONE session.

    The fast one streams ``shared_mb`` MB alone (solo), then with the stalled one attached, then
    alone again; its MB/s with the stalled one is compared with the mean of the two solos, and
    the server's RSS growth is sampled meanwhile. Then the stalled one is resumed: it must get
    the stream's prefix it had, a truncation marker (``session.truncated``, or ``truncated: true``
    when it has to re-attach), and then exactly the stream from the marker's offset on, which
    should be what history still held.
    """
    async with JupyterServer(st.server_args) as srv:
        name = "shared"
        await srv.create_terminals([name])
        fast = await open_view(transport, srv, [name])
        await handshake([fast])
        nl = lines_for_mb(name, st.shared_mb)

        async def solo() -> tuple[float, list[str]]:
            _, el, vers = await run_streams([fast], {name: nl}, srv.gen, st.stream_timeout)
            return sum(v.payload_bytes for v in vers.values()) / MB / el, check(vers, [])

        solo1, errors = await solo()
        child = await _start_stalled(srv, transport, name, nl, shared=True)
        try:
            r0 = await _settled_rss(srv, 0.3)
            rss = RssSampler(srv, 0.02)
            rss.baseline = rss.peak = r0
            rss.start()
            _, elapsed, vers = await run_streams([fast], {name: nl}, srv.gen, st.stream_timeout)
            await asyncio.sleep(0.5)  # what the server does with the stalled one afterwards
            await rss.stop()
            errors += check(vers, [])
            shared_mb_s = sum(v.payload_bytes for v in vers.values()) / MB / elapsed
            t_resume = time.perf_counter()
            os.kill(child.pid, signal.SIGCONT)
            out, _ = await asyncio.wait_for(child.communicate(), st.stream_timeout)
            drain = time.perf_counter() - t_resume
        finally:
            await _end_child(child)
        lines_out = out.decode().strip().splitlines()
        res: dict[str, Any] = (
            json.loads(lines_out[-1]) if lines_out else {"ok": False, "error": "no output"}
        )
        if not res.get("ok"):
            errors.append(f"stalled client: {res.get('error')}")
        if not res.get("truncations"):
            errors.append("stalled client: no truncation marker (session.truncated)")
        solo2, e2 = await solo()
        errors += e2 + list(fast.errors)
        await close_all([fast])
        solo_mb_s = (solo1 + solo2) / 2
        hist = int(res.get("history_limit") or 0)
        replayed: int | None = res.get("replayed_bytes")
        if replayed is not None and hist and replayed < hist // 2:
            errors.append(
                f"stalled client: only {replayed} bytes replayed after the truncation, "
                f"history holds up to {hist}"
            )
        return {
            "mb": st.shared_mb,
            "solo_mb_per_s": solo_mb_s,
            "solo_runs_mb_per_s": [solo1, solo2],
            "shared_mb_per_s": shared_mb_s,
            "shared_over_solo": shared_mb_s / solo_mb_s,
            "rss_growth_mb": rss.growth_mb,
            "drain_s": drain,
            "stalled_ok": bool(res.get("ok")),
            "stalled_received_mb": res.get("received", 0) / MB,
            "truncations": res.get("truncations"),
            "replayed_bytes": replayed,
            "history_limit": hist,
            "reattached": res.get("reattached"),
            "ok": not errors,
            "errors": errors[:10],
        }
