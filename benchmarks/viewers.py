"""``python -m benchmarks.viewers``: does a crowd of viewers pace the writer?

A viewer is just a subscriber, so a slow or stalled one must never pace the writer beyond the
flow-control grace (README, "Flow control" and "Sharing a terminal"). Two conditions, on a fresh
``jupyter server`` (``--TermMuxApp.allow_viewers=True``) each, interleaved run by run:

- ``alone``: one writer (protocol v2) on its session;
- ``viewers``: the same writer, and ``--readers`` viewers (``"mode": "view"``, v2) that read and
  acknowledge on receipt, and ``--stalled`` viewers that never read (a small ``SO_RCVBUF`` and no
  ``recv`` after their attach), each on its own socket. The viewers live in a child process, so
  that their reading does not delay the writer's own event loop (it does share the CPU, as it
  would with real viewers on the same machine).

Each run: a warm-up flood of ``--warmup`` seconds (longer than the grace,
``slow_subscriber_timeout``: by its end a never-reading viewer has its window unwritten and is
sent nothing more), then the writer's keystroke echo on the idle session, then its echo while the
same session floods, then the throughput of ``--mb`` MB of numbered lines, verified line by line
and offset by offset by the writer. The server's RSS is sampled every 50 ms from just before the
viewers attach; its CPU is read over the throughput phase. Medians of ``--runs`` runs, and the
ratios viewers/alone against the targets::

    python -m benchmarks.viewers --runs 5 --json benchmarks/results/viewers.json
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import socket
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any, Callable

import psutil

from .scenarios import Counter, RssSampler, Waiter, handshake, latency_stats
from .server import JupyterServer, stop_servers_on_sigterm
from .transports import V2_SUBPROTOCOL, TermmuxV2View
from .verify import StreamVerifier, gen_command, lines_for_mb

MB = 1_000_000
SESSION = "work"
#: the targets of the benchmark: viewers/alone
TARGET_THROUGHPUT_RATIO = 0.90
TARGET_ECHO_P99_RATIO = 1.10
TARGET_RSS_GROWTH_MB = 30.0
#: a keystroke during the flood: absent from the flood's text (benchmarks/verify.py PAD)
FLOOD_KEY = "~"


# ------------------------------------------------------------------------------ the viewers


class ViewerView(TermmuxV2View):
    """A v2 view that attaches in ``view`` mode (and acks on receipt, as its parent does)."""

    async def attach(self, sessions: list[str], **fields: Any) -> list[dict[str, Any]]:
        return await super().attach(sessions, mode="view", **fields)


class _Server:
    """What a view needs to know of the server, in the child process."""

    def __init__(self, port: int, token: str):
        self.ws = f"ws://127.0.0.1:{port}/"
        self.headers = {"Authorization": f"token {token}"}


def _masked_text_frame(payload: bytes) -> bytes:
    """One client-to-server text frame (RFC 6455 5.2: a client masks every frame)."""
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([0x81])
    if n < 126:
        head += bytes([0x80 | n])
    else:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + body


async def stalled_viewer(port: int, token: str, session: str, rcvbuf: int) -> socket.socket:
    """A v2 socket that attaches in view mode, reads its answer, and never reads again."""
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # set before connect, so the TCP window stays small: the kernel absorbs little once we stop
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    head = (
        f"GET /api/termmux/socket HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: {V2_SUBPROTOCOL}\r\nAuthorization: token {token}\r\n\r\n"
    )
    await loop.sock_sendall(sock, head.encode())
    attach = {"type": "session.attach", "sessionId": session, "mode": "view", "id": 1}
    await loop.sock_sendall(sock, _masked_text_frame(json.dumps(attach).encode()))
    data = b""
    deadline = time.monotonic() + 10
    while b'"session.attached"' not in data:
        if time.monotonic() > deadline or b'"type": "error"' in data:
            sock.close()
            raise RuntimeError(f"stalled viewer: no session.attached: {data[-300:]!r}")
        chunk = await asyncio.wait_for(loop.sock_recv(sock, 4096), 10)
        if not chunk:
            raise RuntimeError(f"stalled viewer: closed before its attach: {data[-300:]!r}")
        data += chunk
    return sock


async def child_main(a: argparse.Namespace) -> int:
    """The viewers' process: attach them all, say ``ready``, hold until stdin says stop."""
    server = _Server(a.port, a.token)
    readers: list[ViewerView] = []
    counters: list[Counter] = []
    for _ in range(a.readers):
        v = ViewerView(server, [a.session])  # type: ignore[arg-type]
        c = Counter()
        v.add_sink(a.session, c)
        await v.open()
        readers.append(v)
        counters.append(c)
    stalled = [await stalled_viewer(a.port, a.token, a.session, a.rcvbuf) for _ in range(a.stalled)]
    print(json.dumps({"event": "ready"}), flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # the parent's "stop", or EOF
    errors = [e for v in readers for e in v.errors]
    print(
        json.dumps(
            {
                "event": "done",
                "reader_bytes_min": min((c.n for c in counters), default=0),
                "reader_bytes_max": max((c.n for c in counters), default=0),
                "reader_errors": len(errors),
                # a reader, too, is truncated once it lags a history behind past the grace
                "reader_truncations": sum("session.truncated" in e for e in errors),
                # a view far behind a flood is sent the last screenful (session.skipped)
                "reader_skips": sum(v.skips for v in readers),
                "reader_error_sample": errors[:3],
            }
        ),
        flush=True,
    )
    for s in stalled:
        s.close()
    for v in readers:
        await v.close()
    return 0


class Viewers:
    """The child process holding the viewers of one run."""

    def cpu(self) -> float:
        """User + system CPU seconds of the viewers' process so far."""
        assert self.proc is not None
        t = psutil.Process(self.proc.pid).cpu_times()
        return float(t.user + t.system)

    def __init__(self, srv: JupyterServer, readers: int, stalled: int, rcvbuf: int):
        self.srv, self.readers, self.stalled, self.rcvbuf = srv, readers, stalled, rcvbuf
        self.proc: asyncio.subprocess.Process | None = None
        self.report: dict[str, Any] = {}

    async def start(self) -> None:
        args = ["--child", "--port", str(self.srv.port), "--token", self.srv.token]
        args += ["--session", SESSION, "--readers", str(self.readers)]
        args += ["--stalled", str(self.stalled), "--rcvbuf", str(self.rcvbuf)]
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "benchmarks.viewers",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
        if json.loads(line or b"{}").get("event") != "ready":
            raise RuntimeError(f"viewers did not attach: {line!r}")

    async def stop(self) -> None:
        if self.proc is None:
            return
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(b"stop\n")
            await self.proc.stdin.drain()
            line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
            self.report = json.loads(line or b"{}")
            await asyncio.wait_for(self.proc.wait(), 30)
        except (asyncio.TimeoutError, OSError, ValueError):
            if self.proc.returncode is None:
                self.proc.kill()
                await self.proc.wait()
        self.proc = None


# ------------------------------------------------------------------------------ the writer


async def echo_samples(
    view: TermmuxV2View, key: str, erase: bool, samples: int, gap: tuple[float, float]
) -> tuple[list[float], int]:
    """Type ``key`` ``samples`` times; the time until each echo shows (ms) and the timeouts."""
    probe = Waiter()
    view.add_sink(SESSION, probe)
    rtts: list[float] = []
    timeouts = 0
    for _ in range(samples):
        fut = probe.arm(key)
        t0 = time.perf_counter()
        await view.send(SESSION, key)
        try:
            rtts.append((await asyncio.wait_for(fut, 5) - t0) * 1000)
        except asyncio.TimeoutError:
            timeouts += 1
        if erase:
            fut = probe.arm("\b")
            await view.send(SESSION, "\x7f")
            try:
                await asyncio.wait_for(fut, 5)
            except asyncio.TimeoutError:
                timeouts += 1
        await asyncio.sleep(random.uniform(*gap))
    view.sinks[SESSION].remove(probe)
    return rtts, timeouts


async def flood_for(view: TermmuxV2View, srv: JupyterServer, seconds: float) -> int:
    """Run the timed flood in the session to its end; the bytes the writer saw."""
    counter = Counter()
    view.add_sink(SESSION, counter)
    await view.send(SESSION, f"python3 {srv.flood} {SESSION} {seconds}\r")
    await asyncio.sleep(seconds)
    view.sinks[SESSION].remove(counter)
    await handshake([view], timeout=60)  # the prompt is back: the flood is over
    return counter.n


class Tail:
    """A sink that keeps the last 4 KB of a session's output (what a failure shows)."""

    def __init__(self) -> None:
        self.data = b""

    def feed(self, data: bytes | str) -> None:
        chunk = data.encode() if isinstance(data, str) else data
        self.data = (self.data + chunk)[-4096:]


def crowd(condition: str, a: argparse.Namespace) -> tuple[int, int]:
    """(viewers that read, viewers that never read) of a condition."""
    return {
        "alone": (0, 0),
        "viewers": (a.readers, a.stalled),
        "stalled": (0, a.stalled),
    }[condition]


async def one_run(condition: str, a: argparse.Namespace) -> dict[str, Any]:
    """One fresh server, one writer, with or without viewers: its figures."""
    readers, stalled = crowd(condition, a)
    async with JupyterServer(["--TermMuxApp.allow_viewers=True", *a.server_arg]) as srv:
        await srv.create_terminals([SESSION])
        writer = await TermmuxV2View(srv, [SESSION]).open()
        viewers = None
        errors: list[str] = []
        try:
            await handshake([writer])
            rss = RssSampler(srv, interval=0.05).start()
            if readers or stalled:
                viewers = Viewers(srv, readers, stalled, a.rcvbuf)
                await viewers.start()
            # warm-up: the stalled viewers' windows fill and their grace runs out
            await flood_for(writer, srv, a.warmup)
            idle, t_idle = await echo_samples(writer, "a", True, a.samples, (0.03, 0.06))
            # echo while the same session floods (the flood does not read its input: the tty
            # echoes the key; ^C at the end drops what was typed)
            counter = Counter()
            writer.add_sink(SESSION, counter)
            await writer.send(SESSION, f"python3 {srv.flood} {SESSION} 120\r")
            t_wait = time.monotonic() + 30
            while counter.n < 256 * 1024 and time.monotonic() < t_wait:
                await asyncio.sleep(0.05)
            busy, t_busy = await echo_samples(writer, FLOOD_KEY, False, a.samples, (0.03, 0.06))
            writer.sinks[SESSION].remove(counter)
            tail = Tail()
            writer.add_sink(SESSION, tail)
            await writer.send(SESSION, "\x03")
            try:
                await handshake([writer], timeout=60)
            except asyncio.TimeoutError:
                raise RuntimeError(
                    f"no prompt 60 s after ^C; the session's last output: {tail.data[-600:]!r}"
                ) from None
            writer.sinks[SESSION].remove(tail)
            # The writer is a subscriber like the viewers: if it lags a history behind the
            # fastest of them past the session's grace, it is truncated too. Count that for the
            # phases so far; the throughput phase must then deliver every line.
            before = list(writer.errors)
            writer.errors.clear()
            # throughput: numbered lines, every one verified once in order by the writer
            done = asyncio.Event()
            nlines = lines_for_mb(SESSION, a.mb)
            ver = StreamVerifier(SESSION, nlines, on_done=done.set, binary=True)
            writer.add_sink(SESSION, ver)
            cpu0 = srv.cpu()
            vcpu0 = viewers.cpu() if viewers else 0.0
            t0 = time.perf_counter()
            await writer.send(SESSION, gen_command(srv.gen, SESSION, nlines))
            try:
                await asyncio.wait_for(done.wait(), a.timeout)
            except asyncio.TimeoutError:
                errors.append(f"throughput: not done in {a.timeout:.0f} s")
            elapsed = time.perf_counter() - t0
            cpu = srv.cpu() - cpu0
            vcpu = viewers.cpu() - vcpu0 if viewers else 0.0
            await asyncio.sleep(0.2)  # a last RSS sample or four
            await rss.stop()
            if not ver.ok:
                errors.append(ver.describe())
            if t_idle or t_busy:
                errors.append(f"echo timeouts: {t_idle} idle, {t_busy} flooding")
        finally:
            if viewers is not None:
                await viewers.stop()
            await writer.close()
        errors += writer.errors[:5]
        truncated_before = sum("session.truncated" in e for e in before)
        mb = ver.payload_bytes / MB
        # from the first line to the last: the generator's start-up (tens of ms) is not the
        # server's; the wall time from the command on is kept too
        streamed = (ver.done_time or t0 + elapsed) - (ver.begin_time or t0)
        res: dict[str, Any] = {
            "condition": condition,
            "mb": mb,
            "mb_per_s": mb / streamed,
            "wall_s": elapsed,
            "ms_cpu_per_mb": cpu * 1000 / mb,
            # cores busy over the throughput phase: the server's, and the viewers' process's
            "server_cores": cpu / elapsed,
            "viewer_cores": vcpu / elapsed,
            "echo_idle": latency_stats(idle),
            "echo_flood": latency_stats(busy),
            "rss_baseline_mb": rss.baseline / MB,
            "rss_growth_mb": (rss.peak - rss.baseline) / MB,
            "rss_samples": len(rss.samples),
            "verified": ver.ok and not writer.errors,
            # session.truncated the writer got in the warm-up and echo phases (0 alone)
            "writer_truncations_before": truncated_before,
            "writer_errors_before": before[:3],
            "errors": errors,
        }
        if viewers is not None:
            res["viewers"] = viewers.report
        return res


# ------------------------------------------------------------------------------ report

FIGURES: dict[str, tuple[str, Callable[[dict[str, Any]], float | None]]] = {
    "mb_per_s": ("throughput MB/s", lambda r: r["mb_per_s"]),
    "ms_cpu_per_mb": ("server CPU ms/MB", lambda r: r["ms_cpu_per_mb"]),
    "echo_idle_p50": ("echo idle p50 ms", lambda r: r["echo_idle"].get("p50_ms")),
    "echo_idle_p99": ("echo idle p99 ms", lambda r: r["echo_idle"].get("p99_ms")),
    "echo_flood_p50": ("echo flooding p50 ms", lambda r: r["echo_flood"].get("p50_ms")),
    "echo_flood_p99": ("echo flooding p99 ms", lambda r: r["echo_flood"].get("p99_ms")),
    "rss_growth_mb": ("server RSS growth MB", lambda r: r["rss_growth_mb"]),
}


def medians(runs: list[dict[str, Any]]) -> dict[str, float | None]:
    out: dict[str, float | None] = {}
    for key, (_, get) in FIGURES.items():
        xs = [x for x in (get(r) for r in runs) if x is not None]
        out[key] = statistics.median(xs) if xs else None
    return out


def verdict(alone: dict[str, Any], crowd: dict[str, Any]) -> dict[str, Any]:
    """The ratios viewers/alone and whether each target is met."""

    def ratio(k: str) -> float | None:
        x, y = alone.get(k), crowd.get(k)
        return y / x if x and y is not None else None

    tp = ratio("mb_per_s")
    p99 = {k: ratio(k) for k in ("echo_idle_p99", "echo_flood_p99")}
    rss = crowd.get("rss_growth_mb")
    return {
        "throughput_ratio": tp,
        "throughput_met": tp is not None and tp >= TARGET_THROUGHPUT_RATIO,
        **{f"{k}_ratio": v for k, v in p99.items()},
        **{f"{k}_met": v is not None and v <= TARGET_ECHO_P99_RATIO for k, v in p99.items()},
        "cpu_per_mb_ratio": ratio("ms_cpu_per_mb"),
        "rss_growth_met": rss is not None and rss < TARGET_RSS_GROWTH_MB,
    }


def fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}"


def print_verdict(name: str, v: dict[str, Any], rss: float | None) -> None:
    def ok(met: bool) -> str:
        return "met" if met else "MISSED"

    print(
        f"{name}: throughput ratio {fmt(v['throughput_ratio'])} (>= {TARGET_THROUGHPUT_RATIO}: "
        f"{ok(v['throughput_met'])}); echo p99 ratio idle {fmt(v['echo_idle_p99_ratio'])} "
        f"({ok(v['echo_idle_p99_met'])}), flooding {fmt(v['echo_flood_p99_ratio'])} "
        f"(<= {TARGET_ECHO_P99_RATIO}: {ok(v['echo_flood_p99_met'])}); RSS growth "
        f"{fmt(rss)} MB (< {TARGET_RSS_GROWTH_MB:.0f}: {ok(v['rss_growth_met'])})"
    )


async def main_async(a: argparse.Namespace) -> int:
    conditions = [c.strip() for c in a.conditions.split(",") if c.strip()]
    if "alone" not in conditions:
        conditions.insert(0, "alone")  # the baseline of every ratio
    runs: dict[str, list[dict[str, Any]]] = {c: [] for c in conditions}
    for i in range(a.runs):
        # interleaved, in an order that rotates run by run, so drift on a shared machine
        # falls on every condition alike
        k = i % len(conditions)
        for cond in conditions[k:] + conditions[:k]:
            r = await one_run(cond, a)
            runs[cond].append(r)
            print(
                f"run {i + 1} {cond:8s} {r['mb_per_s']:6.1f} MB/s  "
                f"echo idle p99 {fmt(r['echo_idle'].get('p99_ms'))} ms  "
                f"flooding p99 {fmt(r['echo_flood'].get('p99_ms'))} ms  "
                f"RSS +{r['rss_growth_mb']:.1f} MB  cores server {r['server_cores']:.2f} "
                f"viewers {r['viewer_cores']:.2f}  verified {r['verified']}  writer truncated "
                f"{r['writer_truncations_before']}x before"
                + (
                    f"  readers truncated {r['viewers'].get('reader_truncations')}x"
                    f" skipped {r['viewers'].get('reader_skips')}x"
                    if r.get("viewers", {}).get("reader_bytes_max")
                    else ""
                )
                + (f"  ERRORS {r['errors']}" if r["errors"] else ""),
                flush=True,
            )
    med = {c: medians(rs) for c, rs in runs.items()}
    verdicts = {c: verdict(med["alone"], med[c]) for c in conditions if c != "alone"}
    print(
        f"\nmedians of {a.runs} runs; viewers = {a.readers} reading + {a.stalled} never "
        f"reading, stalled = {a.stalled} never reading; {a.mb:g} MB per run"
    )
    print(f"{'':24s}" + "".join(f"{c:>9s}" for c in conditions) + "  ratios to alone")
    for key, (label, _) in FIGURES.items():
        row = [med[c][key] for c in conditions]
        base = med["alone"][key]
        ratios = [y / base if base and y is not None else None for y in row[1:]]
        print(
            f"{label:24s}"
            + "".join(f"{fmt(x):>9s}" for x in row)
            + "  "
            + " ".join(fmt(r) for r in ratios)
        )
    print()
    for c, v in verdicts.items():
        print_verdict(c, v, med[c]["rss_growth_mb"])
    verified = all(r["verified"] for rs in runs.values() for r in rs)
    print(f"writer's stream verified in every run: {verified}")
    if a.json:
        out = {
            "settings": {
                k: getattr(a, k)
                for k in (
                    "runs",
                    "readers",
                    "stalled",
                    "mb",
                    "samples",
                    "warmup",
                    "rcvbuf",
                    "conditions",
                    "server_arg",
                )
            },
            "targets": {
                "throughput_ratio_min": TARGET_THROUGHPUT_RATIO,
                "echo_p99_ratio_max": TARGET_ECHO_P99_RATIO,
                "rss_growth_mb_max": TARGET_RSS_GROWTH_MB,
            },
            "medians": med,
            "verdicts": verdicts,
            "verified": verified,
            "runs": runs,
        }
        Path(a.json).write_text(json.dumps(out, indent=1))
    return 0 if verified else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.viewers", description=__doc__)
    p.add_argument("--runs", type=int, default=5, help="interleaved runs (default 5)")
    p.add_argument("--readers", type=int, default=20, help="viewers that read and ack")
    p.add_argument("--stalled", type=int, default=10, help="viewers that never read")
    p.add_argument(
        "--conditions",
        default="alone,viewers,stalled",
        help="comma-separated out of alone (the writer only), viewers (readers and stalled "
        "viewers), stalled (the never-reading viewers only); default all three",
    )
    p.add_argument("--mb", type=float, default=20.0, help="MB of numbered lines per run")
    p.add_argument("--samples", type=int, default=100, help="echo samples per phase")
    p.add_argument(
        "--warmup", type=float, default=6.0, help="seconds of flood first (past the 5 s grace)"
    )
    p.add_argument("--rcvbuf", type=int, default=4096, help="SO_RCVBUF of a stalled viewer")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds for the throughput")
    p.add_argument("--json", help="write the results here")
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="one more argument for the server, e.g. --TermMuxApp.slow_subscriber_timeout=0 "
        "(holds off: whether the viewers pace the writer through holds); repeatable",
    )
    # the viewers' own process (started by a run, not by hand)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--token", help=argparse.SUPPRESS)
    p.add_argument("--session", default=SESSION, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        return asyncio.run(child_main(a))
    stop_servers_on_sigterm()
    return asyncio.run(main_async(a))


if __name__ == "__main__":
    sys.exit(main())
