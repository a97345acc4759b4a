"""Break py-spy's raw (collapsed) stacks of the server down into where the time per MB goes."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

# (category, pattern on one frame "Class.function (file.py:line)"); for each sample the innermost
# frame that matches any pattern decides. Idle samples (epoll wait, idle pool threads) are
# counted but not part of the CPU shares.
CATEGORIES: list[tuple[str, re.Pattern[str]]] = [
    (
        "idle (epoll wait / idle threads)",
        re.compile(
            r"EpollSelector\.select \(|^_worker \(concurrent|Condition\.wait \(|Event\.wait \("
            r"|Thread\._wait_for_tstate_lock"
        ),
    ),
    ("PTY read (read1 syscall)", re.compile(r"^PtyProcess\.read \(ptyprocess")),
    # termmux reads the PTYs itself (ptyio.py: os.read in ``ReadRounds._round``)
    ("PTY read (termmux's own os.read)", re.compile(r"_round \(jupyter_termmux[/\\]ptyio\.py")),
    (
        "UTF-8 decode (ptyprocess)",
        re.compile(r"^PtyProcessUnicode\.read \(|IncrementalDecoder\.decode \(|decode \(codecs"),
    ),
    ("terminado poll() before each read", re.compile(r"^_poll \(terminado")),
    (
        "JSON encode",
        re.compile(
            r"json[/\\](encoder|__init__)\.py|^encode_output \(|^encode \(jupyter_termmux[/\\]protocol"
            r"|^output_prefix \("
        ),
    ),
    ("JSON decode (client frames)", re.compile(r"json[/\\]decoder\.py")),
    ("UTF-8 encode for the wire (tornado utf8)", re.compile(r"tornado[/\\]escape\.py")),
    (
        "socket write (IOStream.write_to_fd/_handle_write)",
        re.compile(r"IOStream\.write_to_fd|_handle_write \(tornado|socket\.send"),
    ),
    ("WebSocket framing (tornado websocket.py)", re.compile(r"tornado[/\\]websocket\.py")),
    ("IOStream buffering (tornado iostream.py)", re.compile(r"tornado[/\\]iostream\.py")),
    ("termmux history buffer", re.compile(r"jupyter_termmux[/\\]history\.py")),
    ("v2 binary frame encode", re.compile(r"jupyter_termmux[/\\]frames\.py")),
    ("termmux routing / flow / coalescing", re.compile(r"jupyter_termmux[/\\]")),
    ("terminado read buffer / fan-out / send_json", re.compile(r"terminado[/\\]")),
    (
        "event loop scheduling (asyncio/tornado ioloop)",
        re.compile(r"asyncio[/\\]|tornado[/\\](ioloop|gen|concurrent|platform)|^_run_once"),
    ),
]


def classify(stack: str) -> str:
    frames = stack.split(";")
    for fr in reversed(frames):
        fr = fr.strip()
        for name, pat in CATEGORIES:
            if pat.search(fr):
                return name
    return "other"


def is_idle(category: str) -> bool:
    return category.startswith("idle")


def breakdown(raw: Path, mb: float, cpu_s: float) -> dict[str, Any]:
    """Samples per category and the share of server CPU time per MB each one takes."""
    counts: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    for ln in raw.read_text(errors="replace").splitlines():
        stack, _, n = ln.rpartition(" ")
        if not n.isdigit():
            continue
        c = classify(stack)
        counts[c] += int(n)
        if not is_idle(c):
            leaves[stack.split(";")[-1].strip()] += int(n)
    busy = sum(v for k, v in counts.items() if not is_idle(k))
    total = sum(counts.values())
    cats = []
    for k, v in counts.most_common():
        share = v / busy if busy and not is_idle(k) else None
        cats.append(
            {
                "category": k,
                "samples": v,
                "share_of_busy": share,
                "ms_per_mb": None if share is None else share * cpu_s * 1000 / mb,
            }
        )
    return {
        "samples": total,
        "busy_samples": busy,
        "cpu_ms_per_mb": cpu_s * 1000 / mb,
        "categories": cats,
        "top_leaf_frames": [[k, v] for k, v in leaves.most_common(15)],
    }


def text(prof: dict[str, Any]) -> str:
    out = []
    for t, p in prof.items():
        out.append(
            f"profile {t}: {p['cpu_ms_per_mb']:.1f} ms server CPU per MB, {p['samples']} samples"
        )
        for c in p["categories"]:
            ms = (
                ""
                if c["ms_per_mb"] is None
                else f"{c['ms_per_mb']:6.2f} ms/MB  {100 * c['share_of_busy']:5.1f}%"
            )
            out.append(f"    {c['category']:34} {c['samples']:6}  {ms}")
        out.append(
            "    top frames: " + "; ".join(f"{k} ({v})" for k, v in p["top_leaf_frames"][:6])
        )
        if "syscalls_per_mb" in p:
            top = list(p["syscalls_per_mb"].items())[:8]
            out.append(
                f"    frames/MB {p['frames_per_mb']:.0f}; syscalls/MB (strace -c): "
                + ", ".join(f"{k} {v:.0f}" for k, v in top)
            )
    return "\n".join(out)


def markdown(prof: dict[str, Any]) -> str:
    out = [
        (
            "Server profile during the 4-session throughput run "
            "(py-spy, innermost matching frame wins):"
        ),
        "",
    ]
    ts = list(prof)
    cats: list[str] = []
    for t in ts:
        for c in prof[t]["categories"]:
            if c["category"] not in cats:
                cats.append(c["category"])
    out.append("| where | " + " | ".join(f"{t} ms/MB (share)" for t in ts) + " |")
    out.append("|---|" + "---:|" * len(ts))
    for cat in cats:
        cells = []
        for t in ts:
            c = next((x for x in prof[t]["categories"] if x["category"] == cat), None)
            if c is None:
                cells.append("-")
            elif c["ms_per_mb"] is None:
                cells.append(f"{c['samples']} samples")
            else:
                cells.append(f"{c['ms_per_mb']:.2f} ({100 * c['share_of_busy']:.0f}%)")
        out.append(f"| {cat} | " + " | ".join(cells) + " |")
    out.append(
        "| **total server CPU** | "
        + " | ".join(f"**{prof[t]['cpu_ms_per_mb']:.1f}**" for t in ts)
        + " |"
    )
    if all("syscalls_per_mb" in prof[t] for t in ts):
        names: list[str] = []
        for t in ts:
            names += [k for k in list(prof[t]["syscalls_per_mb"])[:8] if k not in names]
        out += [
            "",
            "Frames and system calls per MB delivered (a separate run under `strace -c -f`):",
            "",
            "| per MB | " + " | ".join(ts) + " |",
            "|---|" + "---:|" * len(ts),
        ]
        out.append(
            "| WebSocket frames | "
            + " | ".join(f"{prof[t]['frames_per_mb']:.0f}" for t in ts)
            + " |"
        )
        for k in names:
            out.append(
                f"| `{k}` | "
                + " | ".join(f"{prof[t]['syscalls_per_mb'].get(k, 0):.0f}" for t in ts)
                + " |"
            )
    return "\n".join(out)
