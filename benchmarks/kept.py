"""Kept terminals on vs off: throughput and server CPU per MB (``TermMuxApp.keep_terminals``).

    python -m benchmarks.kept [--runs 5] [--sessions 1,4] [--mb 10]

Runs the throughput scenario (``scenarios.throughput``, protocol v2 client) with the setting off
and on, interleaved (off, on, on, off, ... so neither always runs first on a machine other
people load), and reports the median of every figure per condition and the on/off ratio. A kept
terminal's PTY master is handed to the server by its keeper (SCM_RIGHTS); the server reads it as
any other, so the figures should match within noise.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
from pathlib import Path
from typing import Any

from .scenarios import Settings, throughput
from .server import stop_servers_on_sigterm

KEEP_ARG = "--TermMuxApp.keep_terminals=True"
FIGURES = ("mb_per_s", "cpu_s_per_mb")


def order(run: int) -> list[bool]:
    """The conditions of run ``run`` (False: off, True: on), alternating which goes first."""
    return [False, True] if run % 2 == 0 else [True, False]


def medians(results: list[dict[str, Any]]) -> dict[str, float]:
    """The median of each figure over runs."""
    return {f: statistics.median(r[f] for r in results) for f in FIGURES}


async def main(a: argparse.Namespace) -> dict[str, Any]:
    sessions = [int(n) for n in a.sessions.split(",")]
    raw: dict[str, list[dict[str, Any]]] = {}
    for run in range(a.runs):
        for n in sessions:
            for keep in order(run):
                st = Settings(mb=a.mb, server_args=[KEEP_ARG] if keep else [])
                result = await throughput("termmux-v2", n, st)
                if result.get("errors"):
                    raise RuntimeError(f"stream errors: {result['errors']}")
                key = f"{n}-{'on' if keep else 'off'}"
                raw.setdefault(key, []).append(result)
                print(
                    f"run {run + 1}/{a.runs} sessions={n} keep={'on ' if keep else 'off'} "
                    f"{result['mb_per_s']:.1f} MB/s, {result['cpu_s_per_mb'] * 1000:.2f} ms CPU/MB",
                    flush=True,
                )
    summary: dict[str, Any] = {"runs": a.runs, "mb_per_session": a.mb, "sessions": {}}
    for n in sessions:
        off, on = medians(raw[f"{n}-off"]), medians(raw[f"{n}-on"])
        summary["sessions"][str(n)] = {
            "off": off,
            "on": on,
            "ratio_on_off": {f: on[f] / off[f] for f in FIGURES},
        }
    summary["raw"] = {k: [{f: r[f] for f in FIGURES} for r in v] for k, v in raw.items()}
    return summary


def table(summary: dict[str, Any]) -> str:
    """The medians as a Markdown table."""
    rows = [
        "| sessions | MB/s off | MB/s on | on/off | CPU ms/MB off | CPU ms/MB on | on/off |",
        "|---|---|---|---|---|---|---|",
    ]
    for n, s in summary["sessions"].items():
        off, on, r = s["off"], s["on"], s["ratio_on_off"]
        rows.append(
            f"| {n} | {off['mb_per_s']:.1f} | {on['mb_per_s']:.1f} | {r['mb_per_s']:.2f} "
            f"| {off['cpu_s_per_mb'] * 1000:.2f} | {on['cpu_s_per_mb'] * 1000:.2f} "
            f"| {r['cpu_s_per_mb']:.2f} |"
        )
    return "\n".join(rows)


if __name__ == "__main__":
    p = argparse.ArgumentParser(prog="python -m benchmarks.kept", description=__doc__)
    p.add_argument("--runs", type=int, default=5, help="interleaved runs per condition")
    p.add_argument("--sessions", default="1,4", help="comma-separated session counts")
    p.add_argument("--mb", type=float, default=10.0, help="MB printed per session")
    p.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results"),
        help="folder for kept-DATE.json (made if missing)",
    )
    args = p.parse_args()
    stop_servers_on_sigterm()
    result = asyncio.run(main(args))
    # The table first: a run of many minutes is not lost to a bad --out.
    print(table(result))
    out = Path(args.out) / f"kept-{time.strftime('%Y-%m-%d')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written: {out}")
