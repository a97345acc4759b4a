"""``python -m benchmarks.wsclient``: a second, minimal, independent throughput client.

It shares no transport code with the main benchmark (``benchmarks.transports``,
``benchmarks.verify``): its own WebSocket library (``websockets``, asyncio client, TCP_NODELAY
by asyncio's default), its own generator script and text, its own check (a SHA-256 of every
session's output between its markers, against the digest computed before the clock), its own
credit policy on v2. Only ``benchmarks.server`` is reused, to start and stop the same
``jupyter server``. A gain that shows with the main client but not here belongs to the client,
not to the server.

For each run it starts a fresh server per transport, N sessions print ``--mb`` MB each at once
(ASCII or mixed UTF-8 text), and it measures the aggregate MB/s and the server's CPU per MB (from
``/proc/<pid>/stat``, user + system of the server process only). Transports are interleaved, in
a rotating order, and the medians of ``--runs`` runs are reported::

    python -m benchmarks.wsclient --sessions 4 --mb 10 --text mixed --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import statistics
import struct
import sys
import time
from pathlib import Path
from typing import Any

try:
    from websockets.asyncio.client import ClientConnection, connect
except ImportError:  # pragma: no cover
    raise SystemExit(
        "benchmarks.wsclient needs the websockets library (>= 13): pip install websockets"
    ) from None

from .report import paired_median
from .server import SERVER_SRC_ENV, JupyterServer, stop_servers_on_sigterm

MB = 1_000_000
TRANSPORTS = ["terminado", "v1", "v2"]
#: the main benchmark's names for the same transports
ALIASES = {"termmux": "v1", "termmux-v1": "v1", "termmux-v2": "v2"}
TEXTS = ["ascii", "mixed", "ascii-shaped"]
HEADER = struct.Struct("<BIQ")  # PROTOCOL.md: type, channel, offset; little-endian; 13 bytes

# Its own workload: the same shape as the main benchmark's (ASCII lines; 70-character lines with
# exactly four non-ASCII characters of 2, 2, 3 and 4 bytes, written 1,000 lines per write) but
# written independently, with other markers and other text.
FILLS = {
    "ascii": "The quick brown fox jumps over the lazy dog; 0123456789 ~!@#$%^&*()_+",
    # four characters not ASCII: ä (2 bytes), ö (2), 𝄞 (4), € (3); lines of 71 characters
    "mixed": "Der Bär spielt zwölf Takte 𝄞 und zahlt 5 € pro Stunde, gut",
}
# ASCII of mixed text's length in bytes, written as many lines per write: it and mixed text
# differ in their content alone (a control for the server's cost per byte)
FILLS["ascii-shaped"] = FILLS["ascii"][: len(FILLS["mixed"].encode())]
STEPS = {"ascii": 2000, "mixed": 1000, "ascii-shaped": 1000}  # lines per write()
WS_GEN = (
    "import sys\n"
    "tag, n, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]\n"
    f"fill, step = {FILLS!r}[text], {STEPS!r}[text]\n"
    "out = sys.stdout.buffer\n"
    'out.write(f"=S={tag}=\\n".encode())\n'
    "for a in range(0, n, step):\n"
    '    out.write("".join(f"{tag}|{i:09d}|{fill}\\n" for i in range(a, min(n, a + step))).encode())\n'
    'out.write(f"=E={tag}=\\n".encode())\n'
    "out.flush()\n"
)


def ws_line(tag: str, i: int, text: str) -> str:
    return f"{tag}|{i:09d}|{FILLS[text]}\r\n"


class Expect:
    """What one session must deliver: the bytes after ``=S=tag=\\r\\n``, up to and including
    ``=E=tag=\\r\\n``, checked by length and SHA-256 (no per-line work in the client)."""

    def __init__(self, tag: str, nlines: int, text: str):
        body = ("".join(ws_line(tag, i, text) for i in range(nlines)) + f"=E={tag}=\r\n").encode()
        self.tag = tag
        self.payload = len(body) - len(f"=E={tag}=\r\n")
        self.length = len(body)
        self.digest = hashlib.sha256(body).digest()
        self.start = f"=S={tag}=\r\n".encode()
        self.h = hashlib.sha256()
        self.got = 0
        self.pre = b""
        self.started = False
        self.done = asyncio.Event()
        self.error: str | None = None

    def feed(self, data: bytes) -> None:
        if self.done.is_set():
            return
        if not self.started:
            self.pre += data
            i = self.pre.find(self.start)
            if i < 0:
                self.pre = self.pre[-len(self.start) :]
                return
            data = self.pre[i + len(self.start) :]
            self.pre = b""
            self.started = True
        take = data[: self.length - self.got]
        self.h.update(take)
        self.got += len(take)
        if self.got == self.length:
            if self.h.digest() != self.digest:
                self.error = f"{self.tag}: output differs from what was printed (SHA-256)"
            self.done.set()


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` from /proc/<pid>/stat (fields 14 and 15), in seconds."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        rest = f.read().rsplit(b")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


class Unavailable(RuntimeError):
    """The server does not speak this protocol."""


class Client:
    """One client of the sessions over one transport; ``feed`` goes to each session's Expect."""

    def __init__(self, srv: JupyterServer, transport: str, names: list[str]):
        self.srv, self.transport, self.names = srv, transport, names
        self.sinks: dict[str, Any] = {}
        self.conns: list[ClientConnection] = []
        self.by_name: dict[str, ClientConnection] = {}
        self.tasks: list[asyncio.Task[None]] = []
        self.replies: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.channels: dict[int, str] = {}
        self.offsets: dict[int, int] = {}
        self.credit: dict[int, int] = {}
        self.ack_bytes = 16384
        self.flush_armed = False
        self.errors: list[str] = []
        self.next_id = 0

    def url(self, path: str) -> str:
        return f"{self.srv.ws}{path}"

    async def _connect(self, path: str, subprotocols: list[str] | None = None) -> Any:
        return await connect(
            self.url(path),
            additional_headers=self.srv.headers,
            subprotocols=subprotocols,  # type: ignore[arg-type]
            compression=None,  # like the main client: no permessage-deflate on either side
            max_size=None,
            ping_interval=None,
            open_timeout=30,
        )

    async def open(self) -> None:
        if self.transport == "terminado":
            for n in self.names:
                ws = await self._connect(f"terminals/websocket/{n}")
                first = json.loads(await ws.recv())
                if first[0] != "setup":
                    raise RuntimeError(f"terminado {n}: {first}")
                self.conns.append(ws)
                self.by_name[n] = ws
                self.tasks.append(asyncio.ensure_future(self._read_terminado(n, ws)))
            return
        v2 = self.transport == "v2"
        ws = await self._connect("api/termmux/socket", ["termmux.v2"] if v2 else None)
        self.conns.append(ws)
        if v2:
            if ws.subprotocol != "termmux.v2":
                await ws.close()
                raise Unavailable(
                    f"v2: offered subprotocol termmux.v2, the server selected {ws.subprotocol!r}"
                )
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            if hello.get("type") != "hello":
                raise Unavailable(f"v2: first frame is not hello: {hello}")
            self.ack_bytes = int(hello.get("limits", {}).get("ackBytes", self.ack_bytes))
        self.tasks.append(asyncio.ensure_future(self._read_termmux(ws)))
        for n in self.names:
            self.by_name[n] = ws
            a = await self._request(ws, {"type": "session.attach", "sessionId": n, "replay": False})
            if a.get("type") != "session.attached":
                raise RuntimeError(f"attach {n}: {a}")
            if v2:
                self.channels[a["channel"]] = n
                self.offsets[a["channel"]] = a["offset"]
                self.credit[a["channel"]] = 0

    async def _request(self, ws: ClientConnection, msg: dict[str, Any]) -> dict[str, Any]:
        self.next_id += 1
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.replies[self.next_id] = fut
        await ws.send(json.dumps({**msg, "id": self.next_id}))
        return await asyncio.wait_for(fut, 30)

    def _sink(self, name: str, data: bytes) -> None:
        s = self.sinks.get(name)
        if s is not None:
            s.feed(data)

    async def _read_terminado(self, name: str, ws: ClientConnection) -> None:
        async for msg in ws:
            m = json.loads(msg)
            if m[0] == "stdout":
                self._sink(name, m[1].encode())

    async def _read_termmux(self, ws: ClientConnection) -> None:
        async for msg in ws:
            if isinstance(msg, bytes):
                await self._frame(ws, msg)
                continue
            m = json.loads(msg)
            t = m.get("type")
            if t == "terminal.output":
                self._sink(m["sessionId"], m["data"].encode())
            elif m.get("id") in self.replies:
                # channels must be known before the frames that follow the answer
                if t == "session.attached" and "channel" in m:
                    self.channels[m["channel"]] = m["sessionId"]
                    self.offsets[m["channel"]] = m["offset"]
                    self.credit.setdefault(m["channel"], 0)
                self.replies.pop(m["id"]).set_result(m)
            elif t in ("error", "session.truncated", "session.detached", "session.exited"):
                self.errors.append(f"unexpected {m}")

    async def _frame(self, ws: ClientConnection, msg: bytes) -> None:
        kind, ch, off = HEADER.unpack_from(msg)
        data = msg[HEADER.size :]
        name = self.channels.get(ch)
        if name is None or kind != 1 or self.offsets.get(ch) != off:
            self.errors.append(f"frame type {kind} channel {ch} offset {off}: unexpected")
        self.offsets[ch] = off + len(data)
        if name is not None:
            self._sink(name, data)
        # credit: every ack_bytes at once; the rest when the read queue is drained (the call_soon
        # runs only once recv() has to wait: websockets hands queued frames over without waiting)
        self.credit[ch] = self.credit.get(ch, 0) + len(data)
        if self.credit[ch] >= self.ack_bytes:
            n, self.credit[ch] = self.credit[ch], 0
            await ws.send(json.dumps({"type": "ack", "channel": ch, "bytes": n}))
        elif not self.flush_armed:
            self.flush_armed = True
            asyncio.get_running_loop().call_soon(self._arm_flush, ws)

    def _arm_flush(self, ws: ClientConnection) -> None:
        self.flush_armed = False
        acks = [(ch, n) for ch, n in self.credit.items() if n]
        for ch, _ in acks:
            self.credit[ch] = 0
        if acks:
            self.tasks.append(asyncio.ensure_future(self._send_acks(ws, acks)))

    async def _send_acks(self, ws: ClientConnection, acks: list[tuple[int, int]]) -> None:
        for ch, n in acks:
            await ws.send(json.dumps({"type": "ack", "channel": ch, "bytes": n}))

    async def type(self, name: str, data: str) -> None:
        ws = self.by_name[name]
        if self.transport == "terminado":
            await ws.send(json.dumps(["stdin", data]))
        else:
            await ws.send(json.dumps({"type": "terminal.input", "sessionId": name, "data": data}))

    async def resize(self, name: str, rows: int, cols: int) -> None:
        ws = self.by_name[name]
        if self.transport == "terminado":
            await ws.send(json.dumps(["set_size", rows, cols]))
        else:
            msg = {"type": "terminal.resize", "sessionId": name, "rows": rows, "cols": cols}
            await ws.send(json.dumps(msg))

    async def close(self) -> None:
        for ws in self.conns:
            await ws.close()
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Ready:
    """Waits for a word in a session's output (the shell is up and the subscription live)."""

    def __init__(self, word: bytes):
        self.word, self.buf, self.done = word, b"", asyncio.Event()

    def feed(self, data: bytes) -> None:
        self.buf = (self.buf + data)[-256:]
        if self.word in self.buf:
            self.done.set()


async def one_run(transport: str, a: argparse.Namespace, text: str) -> dict[str, Any]:
    """One server, N sessions printing at once over ``transport``: MB/s and server ms/MB."""
    async with JupyterServer() as srv:
        (srv.root / "wsgen.py").write_text(WS_GEN, encoding="utf-8")
        names = [f"w{i}" for i in range(a.sessions)]
        await srv.create_terminals(names)
        client = Client(srv, transport, names)
        try:
            try:
                await client.open()
            except Unavailable as e:
                return {"unavailable": str(e)}
            for n in names:
                if text != "ascii":
                    await client.resize(n, 50, 200)
                client.sinks[n] = Ready(f"UP{n}42".encode())
                await client.type(n, f"echo UP{n}$((6*7))\r")
            await asyncio.wait_for(
                asyncio.gather(*(client.sinks[n].done.wait() for n in names)), 30
            )
            probe = Expect(names[0], 1, text)  # line length, in bytes, of this text
            nlines = int(a.mb * MB) // (probe.payload)
            expects = {n: Expect(n, nlines, text) for n in names}  # before the clock
            client.sinks.update(expects)
            cpu0 = cpu_seconds(srv.pid)
            t0 = time.perf_counter()
            for n in names:
                await client.type(n, f"python3 wsgen.py {n} {nlines} {text}\r")
            waits = [e.done.wait() for e in expects.values()]
            await asyncio.wait_for(asyncio.gather(*waits), a.timeout)
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(srv.pid) - cpu0
        finally:
            await client.close()
        mb = sum(e.payload for e in expects.values()) / MB
        errors = [e.error for e in expects.values() if e.error] + client.errors
        return {
            "mb": mb,
            "mb_per_s": mb / elapsed,
            "ms_per_mb": cpu * 1000 / mb,
            "server_cores": cpu / elapsed,  # CPU per second: about the same whatever the text
            "errors": errors,
            # what the socket spoke, so a run can be checked against the transport it names
            "subprotocol": client.conns[0].subprotocol if client.conns else None,
        }


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    tp = [r["mb_per_s"] for r in runs]
    cpu = [r["ms_per_mb"] for r in runs]
    return {
        "runs": len(runs),
        "mb_per_s": statistics.median(tp),
        "mb_per_s_range": [min(tp), max(tp)],
        "ms_per_mb": statistics.median(cpu),
        "ms_per_mb_range": [min(cpu), max(cpu)],
        "runs_mb_per_s": tp,
        "runs_ms_per_mb": cpu,
        "runs_index": [r["run"] for r in runs],
        "server_cores": statistics.median(r["server_cores"] for r in runs),
        "subprotocols": sorted({str(r.get("subprotocol")) for r in runs}),
    }


async def main_async(a: argparse.Namespace) -> int:
    transports = transport_names(a.transports)
    texts = a.text.split(",")
    if set(texts) - set(TEXTS):
        raise SystemExit(f"unknown --text {sorted(set(texts) - set(TEXTS))}; choose from {TEXTS}")
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        t: {x: [] for x in texts} for t in transports
    }
    unavailable: dict[str, str] = {}
    failures: list[str] = []
    for run in range(a.runs):
        for text in texts if run % 2 == 0 else texts[::-1]:  # no text always goes first
            k = run % len(transports)
            for t in transports[k:] + transports[:k]:  # rotate: no transport always goes first
                if t in unavailable:
                    continue
                try:
                    r = await one_run(t, a, text)
                except Exception as e:  # noqa: BLE001  # a failed run is reported, the rest go on
                    failures.append(f"{t} {text} run {run + 1}: {type(e).__name__}: {e}")
                    print(f"  {t:9} {text:5} run {run + 1}: FAILED {e}", flush=True)
                    continue
                if "unavailable" in r:
                    unavailable[t] = r["unavailable"]
                    print(f"  {t}: not run: {r['unavailable']}", flush=True)
                    continue
                failures += [f"{t} {text} run {run + 1}: {e}" for e in r["errors"]]
                r["run"] = run  # pairs the texts' runs (per-byte ratio)
                results[t][text].append(r)
                print(
                    f"  {t:9} {text:5} run {run + 1}: {r['mb_per_s']:6.1f} MB/s "
                    f"{r['ms_per_mb']:6.1f} ms/MB server CPU"
                    + (f"  ERRORS {r['errors'][:2]}" if r["errors"] else ""),
                    flush=True,
                )
    out: dict[str, Any] = {
        "command": "python -m benchmarks.wsclient " + " ".join(sys.argv[1:]),
        "sessions": a.sessions,
        "mb_per_session": a.mb,
        "results": {t: {x: summary(rs) for x, rs in d.items() if rs} for t, d in results.items()},
        "unavailable": unavailable,
        "failures": failures,
    }
    print()
    print(
        f"websockets client: {a.sessions} sessions × {a.mb:g} MB, medians of interleaved runs "
        f"(server CPU from /proc/<pid>/stat)"
    )
    print(
        f"{'transport':10} {'text':12} {'runs':>4} {'MB/s':>7} {'range':>13} {'ms/MB':>7} {'range':>13}"
    )
    base = out["results"].get("terminado", {})
    for t, d in out["results"].items():
        for x, s in d.items():
            rel = ""
            if t != "terminado" and x in base:
                b = base[x]
                cpu = f"×{s['ms_per_mb'] / b['ms_per_mb']:.2f}" if b["ms_per_mb"] else "-"
                rel = f"  ×{s['mb_per_s'] / b['mb_per_s']:.2f} MB/s, {cpu} ms/MB vs terminado"
            print(
                f"{t:10} {x:12} {s['runs']:>4} {s['mb_per_s']:7.1f} "
                f"{s['mb_per_s_range'][0]:6.1f}-{s['mb_per_s_range'][1]:<6.1f} "
                f"{s['ms_per_mb']:7.1f} {s['ms_per_mb_range'][0]:6.1f}-{s['ms_per_mb_range'][1]:<6.1f}"
                + rel
            )
    for t, d in out["results"].items():
        # against ASCII, then against ASCII in mixed text's shape (the content alone)
        for base_text, what in (("ascii", "ASCII's"), ("ascii-shaped", "ASCII-shaped text's")):
            if base_text not in d or "mixed" not in d or not d[base_text]["ms_per_mb"]:
                continue
            asc, mix = d[base_text], d["mixed"]
            paired = paired_median(
                asc["runs_index"], asc["runs_ms_per_mb"], mix["runs_index"], mix["runs_ms_per_mb"]
            )
            print(
                f"{t}: mixed text costs ×{mix['ms_per_mb'] / asc['ms_per_mb']:.2f} {what} server "
                f"CPU per MB (median of the runs' ratios: ×{paired or float('nan'):.2f}) "
                f"(server busy {asc['server_cores']:.2f} and {mix['server_cores']:.2f} cores)"
            )
    for t, why in unavailable.items():
        print(f"{t}: not run: {why}")
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1))
    if failures:
        print("FAILURES:", *failures[:20], sep="\n  ", file=sys.stderr)
    asked_unavailable = a.transports and unavailable
    return 1 if failures or asked_unavailable else 0


def transport_names(arg: str | None) -> list[str]:
    """``--transports``, with the main benchmark's names taken too. An unknown name is an error:
    anything but ``terminado`` and ``v2`` used to run protocol v1 under the name given, so
    ``termmux-v2`` measured v1 (the figures this client reported until 6af1435)."""
    names = list(dict.fromkeys(ALIASES.get(t, t) for t in (arg or ",".join(TRANSPORTS)).split(",")))
    unknown = [t for t in names if t not in TRANSPORTS]
    if unknown:
        raise SystemExit(
            f"unknown --transports {unknown}; choose from {TRANSPORTS} (or {sorted(ALIASES)})"
        )
    return names


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.wsclient", description=__doc__)
    p.add_argument("--sessions", type=int, default=4)
    p.add_argument("--mb", type=float, default=10.0, help="MB printed per session (default 10)")
    p.add_argument(
        "--text",
        default="ascii,mixed",
        help="comma-separated out of ascii, mixed and ascii-shaped (ASCII in mixed text's shape, "
        "a control for the cost per byte); default ascii,mixed",
    )
    p.add_argument("--runs", type=int, default=5, help="interleaved runs (default 5)")
    p.add_argument(
        "--transports",
        help="comma-separated out of terminado,v1,v2 (or the main benchmark's termmux, "
        "termmux-v1, termmux-v2; default all; v2 is skipped with a message while the server "
        "does not speak it, and fails the run if asked for by name)",
    )
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per run")
    p.add_argument("--json", help="write the results here")
    p.add_argument("--server-src", help="serve this jupyter_termmux (see python -m benchmarks -h)")
    a = p.parse_args(argv)
    stop_servers_on_sigterm()
    if a.server_src:
        os.environ[SERVER_SRC_ENV] = str(Path(a.server_src).resolve())
    return asyncio.run(main_async(a))


if __name__ == "__main__":
    sys.exit(main())
