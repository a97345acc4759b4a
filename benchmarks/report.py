"""Tables, ratios, targets, JSON, PNG plots and the Markdown results block."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from pathlib import Path
from typing import Any

T, M, M2 = "terminado", "termmux", "termmux-v2"
#: column order; "termmux" is protocol v1
ORDER = [T, M, M2]
LABEL = {T: "terminado", M: "termmux v1", M2: "termmux v2"}


def transports_in(res: dict[str, Any]) -> list[str]:
    """The transports of this run, in column order."""
    return [t for t in ORDER if t in res["transports"]]


def machine(server_src: str | None = None) -> dict[str, Any]:
    """The facts needed to compare runs across machines."""
    import jupyter_server
    import terminado
    import tornado

    try:
        import jupyter_server_terminals

        jst = jupyter_server_terminals.__version__
    except Exception:  # noqa: BLE001  # an old or odd install: say "?"
        jst = "?"
    cpu = "?"
    try:
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                cpu = ln.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        here = Path(__file__).parent
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=here,
            check=False,
        ).stdout.strip()
        dirty = subprocess.run(
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "benchmarks",
                "jupyter_termmux",
            ],
            capture_output=True,
            text=True,
            cwd=here.parent,
            check=False,
        ).stdout.strip()
        if dirty:
            commit += "+uncommitted changes"
    except OSError:
        commit = "?"
    if server_src:
        commit += f" (server from {server_src})"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
    mem = 0
    try:
        import psutil

        mem = psutil.virtual_memory().total // (1 << 20)
    except Exception:  # noqa: BLE001, S110  # a machine description without its memory size
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "mem_mb": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "tornado": tornado.version,
        "jupyter_server": jupyter_server.__version__,
        "terminado": terminado.__version__,
        "jupyter_server_terminals": jst,
        "commit": commit,
        "loadavg_1min_at_start": load,
    }


def _node(d: dict[str, Any], path: str) -> dict[str, Any] | None:
    cur: Any = d
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur if isinstance(cur, dict) else None


def _get(d: dict[str, Any], path: str) -> float | None:
    cur: Any = d
    for p in path.split("."):
        if not isinstance(cur, dict) or p not in cur:
            return None
        cur = cur[p]
    return cur if isinstance(cur, (int, float)) else None


def rows(res: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """(metric, unit/direction, json path, format) rows present in the results."""
    out: list[tuple[str, str, str, str]] = []
    st = res["settings"]
    conds = [("throughput", n, "") for n in st["sessions"]] + [
        (f"throughput_{x}", n, f" {x}")
        for x in st.get("texts", [])
        if x != "ascii"
        for n in st.get("text_sessions", [])
    ]
    for k, n, x in conds:
        out.append((f"throughput{x}, {n} sessions", "MB/s ↑", f"{k}.{n}.mb_per_s", "{:.1f}"))
    for k, n, x in conds:
        out.append(
            (f"server CPU per MB{x}, {n} sessions", "ms/MB ↓", f"{k}.{n}.cpu_ms_per_mb", "{:.1f}")
        )
    for k, n, x in conds:
        out.append(
            (
                f"  client (load generator) CPU per MB{x}, {n}",
                "ms/MB",
                f"{k}.{n}.client_cpu_ms_per_mb",
                "{:.1f}",
            )
        )
    for k, n, x in conds:
        # The programs and the kernel's PTY work, outside the server and the client: the larger
        # it is, the closer the transports' MB/s (docs/benchmarks.md, "The targets, honestly").
        out.append(
            (
                f"  rest of the machine CPU per MB{x}, {n}",
                "ms/MB",
                f"{k}.{n}.other_cpu_ms_per_mb",
                "{:.1f}",
            )
        )
    for k, n, x in conds:
        out.append(
            (
                f"  cores busy (of {res['machine']['nproc']}){x}, {n} sessions",
                "cores",
                f"{k}.{n}.cores_busy",
                "{:.2f}",
            )
        )
    for k, n, x in conds:
        out.append(
            (
                f"  server CPU per second{x}, {n} sessions",
                "cores",
                f"{k}.{n}.server_cores",
                "{:.2f}",
            )
        )
    for k, n, x in conds:
        out.append(
            (f"  frames per MB{x}, {n} sessions", "frames", f"{k}.{n}.frames_per_mb", "{:.0f}")
        )
    for k, n, x in conds:
        out.append(
            (f"peak RSS growth{x}, {n} sessions", "MB ↓", f"{k}.{n}.rss_growth_mb", "{:.1f}")
        )
    out.append(
        (
            "fan-out: 1 session → 4 sockets",
            "MB/s delivered ↑",
            "fanout.mb_per_s_delivered",
            "{:.1f}",
        )
    )
    for k in res["settings"]["floods"]:
        for q in ("p50", "p95", "p99", "max"):
            out.append((f"echo {q}, {k} flooding", "ms ↓", f"latency.{k}.{q}_ms", "{:.2f}"))
        out.append(
            (
                f"  echo p99, {k} flooding, all samples pooled",
                "ms",
                f"latency.{k}.pooled_p99_ms",
                "{:.2f}",
            )
        )
        if k:
            out.append(
                (
                    f"flood output while sampling, {k} flooding",
                    "MB/s",
                    f"latency.{k}.flood_mb_per_s",
                    "{:.1f}",
                )
            )
    out += [
        ("memory per idle attached session", "KB ↓", "idle.kb_per_attached_session", "{:.0f}"),
        ("memory per extra idle socket", "KB ↓", "idle.kb_per_idle_socket", "{:.0f}"),
        (
            f"scale: {res['settings']['scale_sessions']} sessions streaming",
            "MB/s ↑",
            "scale.mb_per_s",
            "{:.1f}",
        ),
        ("scale: slowest / median completion", "× ↓", "scale.max_over_median", "{:.2f}"),
        (
            (
                f"mesh: {res['settings']['mesh_sockets']} clients × "
                f"{res['settings']['mesh_per_socket']} sessions"
            ),
            "MB/s delivered ↑",
            "mesh.mb_per_s_delivered",
            "{:.1f}",
        ),
        (
            f"stall: RSS growth ({res['settings']['stall_mb']:.0f} MB stalled)",
            "MB ↓",
            "stall.rss_growth_mb",
            "{:.1f}",
        ),
        ("stall: other sessions meanwhile", "MB/s ↑", "stall.others_mb_per_s", "{:.1f}"),
        ("stall: drain after resume", "s", "stall.drain_s", "{:.1f}"),
        (
            f"shared session: fast client solo ({st.get('shared_mb', 0):g} MB)",
            "MB/s",
            "shared-stall.solo_mb_per_s",
            "{:.1f}",
        ),
        (
            "shared session: fast client, other one stalled",
            "MB/s ↑",
            "shared-stall.shared_mb_per_s",
            "{:.1f}",
        ),
        (
            "shared session: fast with stalled / solo",
            "× ↑",
            "shared-stall.shared_over_solo",
            "{:.2f}",
        ),
        (
            "shared session: RSS growth while stalled",
            "MB ↓",
            "shared-stall.rss_growth_mb",
            "{:.1f}",
        ),
        ("shared session: replayed after truncation", "KB", "shared-stall.replayed_kb", "{:.0f}"),
    ]
    return out


def add_derived(res: dict[str, Any]) -> None:
    for t in transports_in(res):
        tr = res["transports"][t]
        for k, conds in tr.items():
            if not k.startswith("throughput"):
                continue
            for r in conds.values():
                r["cpu_ms_per_mb"] = r["cpu_s_per_mb"] * 1000
                if "client_cpu_s_per_mb" in r:
                    r["client_cpu_ms_per_mb"] = r["client_cpu_s_per_mb"] * 1000
                if "other_cpu_s_per_mb" in r:
                    r["other_cpu_ms_per_mb"] = r["other_cpu_s_per_mb"] * 1000
        sh = tr.get("shared-stall")
        if sh and sh.get("replayed_bytes") is not None:
            sh["replayed_kb"] = sh["replayed_bytes"] / 1024


def formatted_rows(res: dict[str, Any]) -> list[tuple[str, ...]]:
    """(metric, unit, one value per transport, one ratio per termmux transport) as text."""
    tr = res["transports"]
    ts = transports_in(res)
    out = []
    for name, unit, path, fmt in rows(res):
        vals = [_get(tr.get(t, {}), path) for t in ts]
        if all(v is None for v in vals):
            continue
        base = _get(tr.get(T, {}), path)
        cells = [fmt.format(v) if v is not None else "-" for v in vals]
        ratios = [
            f"{v / base:.2f}" if base and v is not None else "-" for t, v in zip(ts, vals) if t != T
        ]
        out.append((name, unit, *cells, *(ratios if T in ts else [])))
    return out


def headers(res: dict[str, Any]) -> list[str]:
    """Column titles matching ``formatted_rows``."""
    ts = transports_in(res)
    ratios = [f"{'v2' if t == M2 else 'v1'} / terminado" for t in ts if t != T] if T in ts else []
    return ["metric", "unit", *[LABEL[t] for t in ts], *ratios]


def table(res: dict[str, Any]) -> str:
    """Plain-text table: each transport, then each termmux transport / terminado."""
    add_derived(res)
    hs = headers(res)
    widths = [50, 17] + [12] * (len(hs) - 2)
    lines = [
        " ".join(h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(hs, widths)))
    ]
    lines.append("-" * (sum(widths) + len(widths)))
    for row in formatted_rows(res):
        lines.append(
            " ".join(
                c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))
            )
        )
    lines.append("-" * (sum(widths) + len(widths)))
    st = res["settings"]
    ran = {k for tr in res["transports"].values() for k in tr}
    notes = []
    if any(k.startswith("throughput") for k in ran):
        notes.append(f"throughput: medians of {st.get('runs', 1)} interleaved runs")
    if "latency" in ran:
        notes.append(
            f"latency: medians of {st.get('latency_runs', 1)} interleaved runs' percentiles"
        )
    if notes:
        lines.append("; ".join(notes))
    for t in res["correctness"]:
        bad = res["correctness"].get(t, [])
        lines.append(
            f"correctness {t}: "
            + ("all lines once, in order, right session" if not bad else f"FAILED: {bad[:3]}")
        )
    return "\n".join(lines)


def paired_median(
    a_runs: list[Any], a: list[float], b_runs: list[Any], b: list[float]
) -> float | None:
    """Median over runs of ``b`` over ``a`` in the same run (runs named by ``*_runs``)."""
    of = dict(zip(a_runs, a))
    ratios = [y / of[i] for i, y in zip(b_runs, b) if of.get(i)]
    return statistics.median(ratios) if ratios else None


def per_byte(m: dict[str, Any], a: str, b: str) -> tuple[float, float] | None:
    """Server CPU per MB of condition ``b`` over ``a`` (paths like ``throughput.4``): the ratio
    of their medians, and the median of the ratios of runs of the same repetition."""
    ra, rb = _node(m, a), _node(m, b)
    if not ra or not rb or not ra.get("cpu_s_per_mb") or not rb.get("cpu_s_per_mb"):
        return None
    paired = paired_median(
        ra.get("runs_rep", []),
        ra.get("runs_cpu_s_per_mb", []),
        rb.get("runs_rep", []),
        rb.get("runs_cpu_s_per_mb", []),
    )
    medians = rb["cpu_s_per_mb"] / ra["cpu_s_per_mb"]
    return medians, medians if paired is None else paired


def targets(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The project's targets, evaluated on this run (None when a scenario was not run): v1 by
    the version-1 targets, v2 by those of protocol v2 and flow control."""
    tr = res["transports"]
    t = tr.get(T, {})
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, met: bool | None) -> None:
        out.append({"target": name, "value": value, "met": met})

    def ratio(m: dict[str, Any], path: str, name: str, bound: float, higher: bool) -> None:
        """``m``'s figure at ``path`` over terminado's, against ``bound``."""
        a, b = _get(t, path), _get(m, path)
        r = None if not (a and b) else b / a
        add(name, None if r is None else round(r, 2), None if r is None else (r >= bound) == higher)

    limits = {M: (1.5, 0.7), M2: (1.5, 0.5)}
    for mt in (M, M2):
        if mt not in tr:
            continue
        m, lab = tr[mt], LABEL[mt]
        fast, cheap = limits[mt]
        kinds = [("throughput", "")] + ([("throughput_mixed", " mixed")] if mt == M2 else [])
        for key, what in kinds:
            ratio(
                m,
                f"{key}.4.mb_per_s",
                f"{lab}: throughput{what} at 4 sessions ≥ {fast}× terminado",
                fast,
                True,
            )
            ratio(
                m,
                f"{key}.4.cpu_s_per_mb",
                f"{lab}: server CPU s/MB{what} at 4 sessions ≤ {cheap}× terminado",
                cheap,
                False,
            )
        if mt == M2:
            r = per_byte(m, "throughput.4", "throughput_mixed.4")
            add(
                f"{lab}: mixed text at 4 sessions costs ≤ 1.10× ASCII's server CPU per MB "
                "(ratio of the medians, and median of the paired runs' ratios)",
                None if r is None else f"{r[0]:.2f}, paired {r[1]:.2f}",
                None if r is None else max(r) <= 1.10,
            )
            # The same question with the workloads' shape held equal: ASCII lines of mixed
            # text's length, as many per write (run with --text ...,ascii-shaped).
            r = per_byte(m, "throughput_ascii-shaped.4", "throughput_mixed.4")
            if r is not None:
                add(
                    f"{lab}: mixed text at 4 sessions costs ≤ 1.10× the server CPU per MB of ASCII "
                    "in its shape (lines as long, as many per write: the content alone)",
                    f"{r[0]:.2f}, paired {r[1]:.2f}",
                    max(r) <= 1.10,
                )
        for k in ("3", "15") if mt == M2 else ("3",):
            a, b = _get(t, f"latency.{k}.p99_ms"), _get(m, f"latency.{k}.p99_ms")
            p50 = _get(m, f"latency.{k}.p50_ms")
            if mt == M2:
                known = a is not None and b is not None and p50 is not None
                add(
                    f"{lab}: echo with {k} flooding: p99 < 5 ms and ≤ terminado, p50 < 2 ms",
                    f"p99 {b:.2f} ms vs {a:.2f} ms, p50 {p50:.2f} ms" if known else None,
                    (b < 5 and b <= a and p50 < 2) if known else None,  # type: ignore[operator]
                )
            else:
                add(
                    f"{lab}: echo p99 with {k} flooding < 10 ms and ≤ terminado",
                    None if a is None or b is None else f"{b:.2f} ms vs {a:.2f} ms",
                    None if a is None or b is None else (b < 10 and b <= a),
                )
        a, b = _get(t, "stall.rss_growth_mb"), _get(m, "stall.rss_growth_mb")
        add(
            f"{lab}: stalled client: RSS growth < 50 MB while terminado's grows",
            None if a is None or b is None else f"{b:.1f} MB vs {a:.1f} MB",
            None if a is None or b is None else (b < 50 and a > max(50.0, 2 * b)),
        )
        sc = m.get("scale")
        add(
            f"{lab}: {res['settings']['scale_sessions']} sessions on one socket: "
            "all correct, none > 3× median",
            None if not sc else f"ok={sc['ok']}, max/median={sc['max_over_median']:.2f}",
            None if not sc else (sc["ok"] and not sc["starved"]),
        )
    sh = tr.get(M2, {}).get("shared-stall")
    if sh:
        add(
            "termmux v2: fast client of a shared session keeps ≥ 0.8× its solo MB/s while the "
            "other stalls, RSS < 20 MB, stalled one gets history + truncation marker",
            f"{sh['shared_over_solo']:.2f}×, {sh['rss_growth_mb']:.1f} MB, ok={sh['stalled_ok']}",
            sh["shared_over_solo"] >= 0.8 and sh["rss_growth_mb"] < 20 and sh["ok"],
        )
    return out


def write_json(res: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(res, indent=1, default=str))
    tmp.replace(path)


def plots(res: dict[str, Any], outdir: Path) -> list[Path]:
    """latency.png (echo RTT CDFs) and throughput.png (MB/s vs sessions)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    made: list[Path] = []
    tr = res["transports"]
    floods = res["settings"]["floods"]
    fig, axes = plt.subplots(
        1, len(floods), figsize=(4.2 * len(floods), 3.4), sharey=True, squeeze=False
    )
    for ax, k in zip(axes[0], floods):
        for t, style in ((T, "--"), (M, "-"), (M2, ":")):
            xs = sorted(tr.get(t, {}).get("latency", {}).get(str(k), {}).get("rtt_ms", []))
            if xs:
                ys = [(i + 1) / len(xs) for i in range(len(xs))]
                ax.plot(xs, ys, style, label=LABEL[t])
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_title(f"{k} sessions flooding")
        ax.set_xlabel("echo round trip (ms)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("fraction of keystrokes ≤ x")
    if axes[0][0].get_legend_handles_labels()[0]:
        axes[0][0].legend()
    fig.tight_layout()
    p = outdir / "latency.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    made.append(p)

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for t, style in ((T, "o--"), (M, "s-"), (M2, "^:")):
        tp = tr.get(t, {}).get("throughput", {})
        ns = sorted(int(n) for n in tp)
        if ns:
            ax.plot(ns, [tp[str(n)]["mb_per_s"] for n in ns], style, label=LABEL[t])
    ax.set_xscale("log", base=2)
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.set_xlabel("sessions streaming at once")
    ax.set_ylabel("aggregate MB/s delivered")
    ax.set_ylim(bottom=0)
    ax.set_title(f"{res['settings']['mb']:g} MB per session, {res['machine']['nproc']} cores")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    p = outdir / "throughput.png"
    fig.savefig(p, dpi=80)
    plt.close(fig)
    made.append(p)
    return made


def markdown(res: dict[str, Any]) -> str:
    """The results block for docs/benchmarks.md."""
    add_derived(res)
    m = res["machine"]
    out = [
        (
            f"Run {res['started']} at commit `{m['commit']}`, {res['wall_s']:.0f} s wall, "
            f"command `{res['command']}`."
        ),
        "",
        (
            f"Machine: {m['nproc']} cores ({m['cpu']}), {m['mem_mb']} MB RAM, Linux {m['kernel']}; "
            f"Python {m['python']}, tornado {m['tornado']}, jupyter_server {m['jupyter_server']}, "
            f"terminado {m['terminado']}, jupyter_server_terminals {m['jupyter_server_terminals']}. "
            f"Load average at start {m.get('loadavg_1min_at_start', 0):.1f}, "
            f"at end {res.get('loadavg_1min_at_end', 0):.1f} "
            f"(other work on the machine skews the timings; every throughput figure is the median "
            f"of {res['settings'].get('runs', 1)} interleaved runs, every latency percentile the "
            f"median of {res['settings'].get('latency_runs', 1)} runs' percentiles)."
        ),
        "",
    ]
    for msg in res.get("unavailable", {}).values():
        out += [f"Not run: {msg}.", ""]
    hs = headers(res)
    out.append("| " + " | ".join(hs) + " |")
    out.append("|---|---|" + "---:|" * (len(hs) - 2))
    for row in formatted_rows(res):
        out.append("| " + " | ".join(row) + " |")
    out += ["", "| target | this run | met |", "|---|---|---|"]
    for t in res["targets"]:
        met = {True: "yes", False: "**no**", None: "not run"}[t["met"]]
        out.append(f"| {t['target']} | {t['value']} | {met} |")
    out.append("")
    for t in res["correctness"]:
        bad = res["correctness"].get(t, [])
        out.append(
            f"Correctness, {t}: "
            + (
                "every line arrived once, in order, in the right session, in every scenario."
                if not bad
                else f"**failed**: {bad[:5]}"
            )
        )
        out.append("")
    out += [
        "![echo latency](../benchmarks/results/latency.png)",
        "",
        "![throughput vs sessions](../benchmarks/results/throughput.png)",
    ]
    return "\n".join(out)


START, END = "<!-- results:start -->", "<!-- results:end -->"


def update_docs(doc: Path, block: str) -> bool:
    """Replace the text between the results markers in ``doc``; False if there are none."""
    if not doc.exists():
        return False
    text = doc.read_text()
    if START not in text or END not in text:
        return False
    a = text.index(START) + len(START)
    b = text.index(END)
    doc.write_text(text[:a] + "\n" + block + "\n" + text[b:])
    return True
