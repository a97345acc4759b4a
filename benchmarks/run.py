"""``python -m benchmarks``: termmux (protocol v1 and v2) vs terminado, same server build, same
work, same run; medians of interleaved runs."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import time
import traceback
from collections.abc import Awaitable
from pathlib import Path
from typing import Any, Callable

import psutil

from . import report, scenarios
from .scenarios import Settings
from .server import SERVER_SRC_ENV, JupyterServer, stop_servers_on_sigterm
from .transports import V2_SUBPROTOCOL
from .verify import TEXTS

ALL = ["throughput", "fanout", "latency", "idle", "scale", "mesh", "stall", "shared-stall"]
TRANSPORTS = ["terminado", "termmux", "termmux-v2"]
#: scenarios that only make sense for some transports (the others skip them)
ONLY_FOR = {"shared-stall": {"termmux-v2"}}


def parse(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    p.add_argument(
        "--mb",
        type=float,
        help="MB printed per session in throughput/fan-out/stall-others (default 10)",
    )
    p.add_argument(
        "--sessions", help="comma-separated session counts for throughput (default 1,4,16)"
    )
    p.add_argument("--samples", type=int, help="echo round trips per latency run (default 150)")
    p.add_argument(
        "--floods", help="comma-separated flooding-session counts for latency (default 0,3,15)"
    )
    p.add_argument(
        "--scale-sessions", type=int, help="sessions on one socket in the scale run (default 64)"
    )
    p.add_argument(
        "--scale-mb", type=float, help="MB per session in the scale and mesh runs (default 1)"
    )
    p.add_argument("--stall-mb", type=float, help="MB printed to the stalled client (default 200)")
    p.add_argument(
        "--runs",
        "--repeat",
        dest="runs",
        type=int,
        default=None,
        help="throughput runs per transport and condition, interleaved across transports; the "
        "MEDIAN of every figure is reported (default 5, smoke 1)",
    )
    p.add_argument(
        "--latency-runs",
        type=int,
        default=None,
        help="latency runs per transport and flood count, interleaved; the median of each run's "
        "percentiles is reported, and the percentiles of all samples pooled (default 3, smoke 1)",
    )
    p.add_argument(
        "--text",
        help=f"comma-separated text workloads out of {','.join(TEXTS)} (default: ascii,mixed); "
        "ascii runs at every --sessions count, the others at --text-sessions",
    )
    p.add_argument(
        "--text-sessions",
        help="comma-separated session counts for the non-ASCII throughput workloads (default 4)",
    )
    p.add_argument(
        "--shared-mb",
        type=float,
        help="MB the fast client streams in the fast + stalled shared-session run (default 20)",
    )
    p.add_argument(
        "--server-src",
        help="directory holding the jupyter_termmux to serve (default: this checkout), e.g. "
        "'git archive HEAD jupyter_termmux | tar -x -C /tmp/head' to measure the last commit "
        "while the working tree is being edited",
    )
    p.add_argument(
        "--quiet-wait",
        type=float,
        default=None,
        help="seconds in total the run may wait for other load on the machine to pass "
        "before scenarios (default 90, smoke 0)",
    )
    p.add_argument("--only", help=f"comma-separated scenarios out of {','.join(ALL)}")
    p.add_argument(
        "--transports",
        help=f"default: {','.join(TRANSPORTS)} (termmux is protocol v1; termmux-v2 is skipped "
        "with a message when the server does not speak v2, and fails the run if asked for)",
    )
    p.add_argument(
        "--smoke", action="store_true", help="tiny sizes: checks correctness in well under a minute"
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="also run the 4-session throughput under py-spy and break server time down",
    )
    p.add_argument(
        "--out", default=str(Path(__file__).parent / "results"), help="results directory"
    )
    p.add_argument("--no-plots", action="store_true")
    p.add_argument(
        "--update-docs", action="store_true", help="rewrite the results block of docs/benchmarks.md"
    )
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra jupyter server argument, e.g. --server-arg=--TermMuxApp.x=1 (repeatable)",
    )
    return p.parse_args(argv)


def settings(a: argparse.Namespace) -> Settings:
    st = Settings()
    if a.smoke:
        st = Settings(
            mb=0.3,
            sessions=[1, 4],
            samples=20,
            floods=[0, 3],
            idle_sessions=4,
            scale_sessions=8,
            scale_mb=0.1,
            mesh_sockets=4,
            mesh_per_socket=2,
            mesh_mb=0.1,
            stall_mb=3,
            stall_others=2,
            stall_hold_max=4,
            shared_mb=3,
            stream_timeout=30,
            fanout_sockets=3,
            settle=0.2,
        )
    if a.mb is not None:
        st.mb = a.mb
    if a.sessions:
        st.sessions = [int(x) for x in a.sessions.split(",")]
    if a.samples is not None:
        st.samples = a.samples
    if a.floods:
        st.floods = [int(x) for x in a.floods.split(",")]
    if a.scale_sessions is not None:
        st.scale_sessions = a.scale_sessions
    if a.scale_mb is not None:
        st.scale_mb = st.mesh_mb = a.scale_mb
    if a.stall_mb is not None:
        st.stall_mb = a.stall_mb
    if a.text:
        st.texts = a.text.split(",")
        unknown = set(st.texts) - set(TEXTS)
        if unknown:
            raise SystemExit(f"unknown --text {sorted(unknown)}; choose from {list(TEXTS)}")
    if a.text_sessions:
        st.text_sessions = [int(x) for x in a.text_sessions.split(",")]
    if a.shared_mb is not None:
        st.shared_mb = a.shared_mb
    st.server_args = list(a.server_arg)
    st.profile = a.profile
    st.results = Path(a.out)
    return st


async def probe_v2(server_args: list[str]) -> str | None:
    """None if the server speaks protocol v2 (selects ``termmux.v2``, sends ``hello`` first);
    otherwise what it did instead, for the report."""
    from .transports import _connect

    async with JupyterServer(server_args) as srv:
        try:
            conn = await _connect(f"{srv.ws}api/termmux/socket", srv, subprotocols=[V2_SUBPROTOCOL])
        except Exception as e:  # noqa: BLE001  # any refusal is the answer
            return f"the socket refused the v2 handshake: {type(e).__name__}: {e}"
        try:
            got = conn.selected_subprotocol
            if got != V2_SUBPROTOCOL:
                return (
                    f"the server does not speak protocol v2 yet: offered {V2_SUBPROTOCOL!r}, it "
                    f"selected {got!r} (protocol/PROTOCOL.md, 'Negotiation')"
                )
            try:
                first = await asyncio.wait_for(conn.read_message(), 5)
            except asyncio.TimeoutError:
                return "subprotocol selected, but no 'hello' frame within 5 s"
            try:
                hello = json.loads(first) if isinstance(first, str) else None
            except ValueError:
                hello = None
            if not isinstance(hello, dict) or hello.get("type") != "hello":
                return f"subprotocol selected, but the first frame is not 'hello': {first!r:.200}"
            return None
        finally:
            conn.close()


def median_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One result from interleaved runs of one condition: the median of every number.

    Lists of per-run figures are kept (``runs_<key>``); correctness is the union of all runs.
    """
    out: dict[str, Any] = dict(runs[0])
    keys = [
        k for k, v in runs[0].items() if isinstance(v, (int, float)) and not isinstance(v, bool)
    ]
    for k in keys:
        xs = [r[k] for r in runs if isinstance(r.get(k), (int, float))]
        if xs:
            out[k] = statistics.median(xs)
    for k in ("mb_per_s", "cpu_s_per_mb", "client_cpu_s_per_mb", "rss_growth_mb", "rep"):
        if k in runs[0]:
            out[f"runs_{k}"] = [r.get(k) for r in runs]
    out.pop("rep", None)
    out["runs"] = len(runs)
    out["errors"] = [e for r in runs for e in r.get("errors", [])]
    out["ok"] = all(r.get("ok", False) for r in runs)
    return out


def latency_of_runs(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Latency from interleaved runs: the median of each run's percentiles (the headline), and
    the percentiles of all samples pooled (``pooled_*``; ``rtt_ms`` keeps every sample)."""
    out = median_of_runs([{k: v for k, v in r.items() if k != "rtt_ms"} for r in runs])
    for q in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
        out[f"runs_{q}"] = [r.get(q) for r in runs]
    rtts = [x for r in runs for x in r.get("rtt_ms", [])]
    out["rtt_ms"] = rtts
    out["samples"] = len(rtts)
    out.update({f"pooled_{k}": v for k, v in scenarios.latency_stats(rtts).items()})
    return out


async def run(a: argparse.Namespace) -> dict[str, Any]:
    st = settings(a)
    only = a.only.split(",") if a.only else ALL
    transports = (a.transports or ",".join(TRANSPORTS)).split(",")
    unknown = set(transports) - set(TRANSPORTS)
    if unknown:
        raise SystemExit(f"unknown --transports {sorted(unknown)}; choose from {TRANSPORTS}")
    if a.server_src:
        os.environ[SERVER_SRC_ENV] = str(Path(a.server_src).resolve())
    res: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "machine": report.machine(a.server_src),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(st).items()},
        "transports": {t: {} for t in transports},
        "correctness": {t: [] for t in transports},
        "unavailable": {},
    }
    t_start = time.perf_counter()
    limit = 120.0 if a.smoke else 420.0

    if "termmux-v2" in transports:
        why = await probe_v2(st.server_args)
        if why is not None:
            msg = f"termmux-v2: {why}"
            print(f"  {msg}", flush=True)
            res["unavailable"]["termmux-v2"] = msg
            transports.remove("termmux-v2")
            if a.transports:  # asked for by name: that is a failure, not a skip
                res["correctness"]["termmux-v2"] = [msg]
            else:
                print("  termmux-v2 skipped in this run (not asked for by name)", flush=True)
                del res["transports"]["termmux-v2"], res["correctness"]["termmux-v2"]

    budget = [a.quiet_wait if a.quiet_wait is not None else (0.0 if a.smoke else 90.0)]
    res["machine_busy_before"] = {}

    async def step(t: str, label: str, coro: Awaitable[dict[str, Any]]) -> dict[str, Any] | None:
        busy, waited = await wait_quiet(budget)
        res["machine_busy_before"][f"{t} {label}"] = [round(busy, 2), round(waited, 1)]
        t0 = time.perf_counter()
        try:
            r = await asyncio.wait_for(coro, limit)
        except Exception as e:  # noqa: BLE001  # a crashed scenario is a failed scenario, not a crashed run
            traceback.print_exc()
            res["correctness"][t].append(f"{label}: {type(e).__name__}: {e}")
            print(f"  {t:10} {label:16} CRASHED {e}", flush=True)
            return None
        for err in r.get("errors", []):
            res["correctness"][t].append(f"{label}: {err}")
        brief = {
            k: (round(v, 3) if isinstance(v, float) else v)
            for k, v in r.items()
            if not isinstance(v, (list, dict))
        }
        print(
            f"  {t:10} {label:20} {time.perf_counter() - t0:5.1f}s "
            f"(machine {100 * busy:3.0f}% busy before, "
            f"waited {waited:.0f}s) {brief}",
            flush=True,
        )
        return r

    runs = a.runs if a.runs is not None else (1 if a.smoke else 5)
    lat_runs = a.latency_runs if a.latency_runs is not None else (1 if a.smoke else 3)
    res["settings"]["runs"] = runs
    res["settings"]["latency_runs"] = lat_runs

    async def interleaved(
        name: str,
        values: list[int],
        repeats: int,
        scenario: Callable[[str, int], Awaitable[dict[str, Any]]],
        summarize: Callable[[list[dict[str, Any]]], dict[str, Any]],
    ) -> None:
        """Run a scenario per value, repeated, alternating transports (so load from anything
        else on the machine hits all alike); ``summarize`` turns the runs into one result."""
        for n in values:
            await interleaved_at(n, repeats, [(name, scenario)], summarize)

    async def interleaved_at(
        n: int,
        repeats: int,
        conditions: list[tuple[str, Callable[[str, int], Awaitable[dict[str, Any]]]]],
        summarize: Callable[[list[dict[str, Any]]], dict[str, Any]],
    ) -> None:
        """Each repetition runs every condition (result key, scenario) at ``n`` on every
        transport in turn, so drift of the machine's speed hits all conditions alike: the text
        workloads are compared with each other (cost per byte), not only with terminado."""
        got: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for rep in range(repeats):
            for name, scenario in conditions if rep % 2 == 0 else conditions[::-1]:
                for t in transports:
                    r = await step(t, f"{name} {n} #{rep + 1}", scenario(t, n))
                    if r:
                        r["rep"] = rep  # pairs the conditions' runs (cost per byte)
                        got.setdefault((name, t), []).append(r)
        for (name, t), rs in got.items():
            res["transports"][t].setdefault(name, {})[str(n)] = summarize(rs)

    def throughput_of(text: str) -> Callable[[str, int], Awaitable[dict[str, Any]]]:
        def tp(t: str, n: int) -> Awaitable[dict[str, Any]]:
            return scenarios.throughput(t, n, st, text=text)

        return tp

    for sc in only:
        if sc == "throughput":
            # ASCII at every --sessions count, the other texts at --text-sessions; where they
            # meet, the texts are interleaved run by run.
            counts = list(dict.fromkeys(st.sessions + st.text_sessions))
            for n in counts:
                conditions = [
                    ("throughput" if text == "ascii" else f"throughput_{text}", throughput_of(text))
                    for text in st.texts
                    if n in (st.sessions if text == "ascii" else st.text_sessions)
                ]
                if conditions:
                    await interleaved_at(n, runs, conditions, median_of_runs)
            continue
        if sc == "latency":

            def lat(t: str, n: int) -> Awaitable[dict[str, Any]]:
                return scenarios.latency(t, n, st)

            await interleaved(sc, st.floods, lat_runs, lat, latency_of_runs)
            continue
        fn: Callable[[str, Settings], Awaitable[dict[str, Any]]] = {
            "fanout": scenarios.fanout,
            "idle": scenarios.idle_memory,
            "scale": scenarios.scale,
            "mesh": scenarios.mesh,
            "stall": scenarios.stall,
            "shared-stall": scenarios.shared_stall,
        }[sc]
        for t in transports:
            if sc in ONLY_FOR and t not in ONLY_FOR[sc]:
                continue
            r = await step(t, sc, fn(t, st))
            if r:
                res["transports"][t][sc] = r
    if st.profile:
        from . import profile

        res["profile"] = {}
        for t in transports:
            raw = st.results / f"profile-{t}.txt"
            # a bigger run than the measured one, for enough samples
            pst = Settings(**{**vars(st), "mb": max(st.mb, 25.0)})
            r = await step(t, "profile 4", scenarios.throughput(t, 4, pst, profile_to=raw))
            if r and raw.exists():
                res["profile"][t] = {"run": r, **profile.breakdown(raw, r["mb_total"], r["cpu_s"])}
            if shutil.which("strace") and t in res["profile"]:
                trace = st.results / f"strace-{t}.txt"
                r = await step(t, "strace 4", scenarios.throughput(t, 4, pst, strace_to=trace))
                if r and trace.exists():
                    calls = scenarios.parse_strace(trace)
                    res["profile"][t]["syscalls_per_mb"] = {
                        k: v / r["mb_total"]
                        for k, v in sorted(calls.items(), key=lambda kv: -kv[1])
                    }
                    res["profile"][t]["frames_per_mb"] = r["frames"] / r["mb_total"]
    res["wall_s"] = time.perf_counter() - t_start
    res["loadavg_1min_at_end"] = os.getloadavg()[0]
    res["targets"] = report.targets(res)
    return res


async def wait_quiet(budget: list[float], threshold: float = 0.3) -> tuple[float, float]:
    """Wait, from a shared budget, until under ``threshold`` of the CPUs are busy.

    The machine may be running other people's tests; a scenario that starts in the middle of a
    browser test measures that test. Returns (busy fraction last seen, seconds waited).
    """
    if budget[0] <= 0:
        return 0.0, 0.0
    loop = asyncio.get_running_loop()
    t0 = time.monotonic()
    busy = 0.0
    while True:
        busy = await loop.run_in_executor(None, lambda: psutil.cpu_percent(interval=0.25) / 100)
        waited = time.monotonic() - t0
        if busy < threshold or waited >= budget[0]:
            budget[0] = max(0.0, budget[0] - waited)
            return busy, waited


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    stop_servers_on_sigterm()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    print(f"benchmarks: results in {out}", flush=True)
    res = asyncio.run(run(a))
    text = report.table(res)
    print()
    print(text)
    print()
    for t in res["targets"]:
        met = {True: "MET", False: "NOT MET", None: "not run"}[t["met"]]
        print(f"  [{met:7}] {t['target']}: {t['value']}")
    for msg in res["unavailable"].values():
        print(f"  [not run] {msg}")
    if "profile" in res:
        from . import profile

        print()
        print(profile.text(res["profile"]))
    print(f"\nwall time {res['wall_s']:.0f} s")
    name = "smoke.json" if a.smoke else "latest.json"
    report.write_json(res, out / name)
    if not a.no_plots and not a.smoke:
        for p in report.plots(res, out):
            print(f"wrote {p}")
    md = report.markdown(res) + (
        "\n\n" + __import__("benchmarks.profile").profile.markdown(res["profile"])
        if "profile" in res
        else ""
    )
    (out / ("smoke.md" if a.smoke else "latest.md")).write_text(md + "\n")
    if a.update_docs:
        doc = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
        print(
            "updated docs/benchmarks.md"
            if report.update_docs(doc, md)
            else "docs/benchmarks.md has no results markers"
        )
    bad = any(res["correctness"].values())
    if bad:
        print("CORRECTNESS FAILURES:", file=sys.stderr)
        for t, errs in res["correctness"].items():
            for e in errs:
                print(f"  {t}: {e}", file=sys.stderr)
    return 1 if bad else 0
