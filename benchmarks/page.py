"""``python -m benchmarks.page``: does a page slowed 8x stay quick while a background tab floods?

Runs the browser test ``tests/e2e/test_slow_page.py`` (real ``jupyter lab``, headless Debian
Chromium, ``Emulation.setCPUThrottlingRate`` 8) ``--runs`` times, one after the other, each in a
fresh pytest process with a fresh server and browser context. Each run floods 100 MB into a
background tab, types ``echo`` commands into the foreground tab meanwhile, waits for the flood to
end on the server, then shows the background tab (still throttled). Figures of each run (the
test writes them to the file named by ``TERMMUX_PAGE_FIGURES``) and their medians are printed:

- ``heap_growth_mb``: peak ``JSHeapUsedSize`` (DevTools ``Performance.getMetrics``, sampled
  between commands and while waiting) less the baseline after a forced GC;
- ``longest_task_ms``: the longest main-thread task (``PerformanceObserver`` ``longtask``) until
  the background tab is shown; ``catch_up_longest_task_ms`` from then on;
- ``fg_p50_s``/``fg_max_s``: foreground commands, Enter to output;
- ``catch_up_s``: showing the background tab until the flood's sentinel is on its screen;
- ``drawn_total_mb``: bytes written into the background tab's xterm, catch-up included;
- ``load_before``/``load_after``: the machine's 1-minute load average around the run (long
  tasks are wall-clock durations, so a busy machine lengthens them).

The labextension the server loads is the first one on JUPYTER_PATH (pass ``--jupyter-path`` to
measure a worktree's build)::

    python -m benchmarks.page --runs 3 --json benchmarks/results/page.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TEST = "tests/e2e/test_slow_page.py"
FIGURES = [
    "heap_growth_mb",
    "longest_task_ms",
    "long_tasks",
    "fg_p50_s",
    "fg_max_s",
    "fg_during_flood",
    "flood_s",
    "catch_up_s",
    "catch_up_longest_task_ms",
    "catch_up_long_tasks",
    "drawn_hidden_mb",
    "drawn_total_mb",
]
TARGETS = {
    "heap_growth_mb": 30.0,
    "longest_task_ms": 100.0,
    "fg_p50_s": 0.3,
    "catch_up_s": 10.0,
}


def run_once(jupyter_path: str | None) -> dict[str, Any]:
    """One run of the browser test in its own pytest process; its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "figures.json"
        env = dict(os.environ, TERMMUX_PAGE_FIGURES=str(out))
        if jupyter_path:
            env["JUPYTER_PATH"] = jupyter_path
        cmd = [sys.executable, "-m", "pytest", TEST, "-q", "-p", "no:cacheprovider"]
        load_before = os.getloadavg()[0]
        # A failed run still wrote its figures; the exit status is reported with them.
        proc = subprocess.run(cmd, check=False, cwd=REPO, env=env, capture_output=True, text=True)
        # Long tasks are wall-clock durations: the machine's load belongs with them.
        load_after = os.getloadavg()[0]
        if not out.exists():
            raise RuntimeError(f"the run wrote no figures:\n{proc.stdout[-3000:]}")
        figures: dict[str, Any] = json.loads(out.read_text())
        figures["test_passed"] = proc.returncode == 0
        figures["load_before"] = round(load_before, 2)
        figures["load_after"] = round(load_after, 2)
        return figures


def medians(runs: list[dict[str, Any]]) -> dict[str, float]:
    """The median of each figure over the runs."""
    return {k: statistics.median(float(r[k]) for r in runs) for k in FIGURES if k in runs[0]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.page", description=__doc__)
    p.add_argument("--runs", type=int, default=3, help="runs, one after the other (default 3)")
    p.add_argument("--jupyter-path", help="JUPYTER_PATH for the server (whose labextension)")
    p.add_argument("--json", type=Path, help="also write every run and the medians here")
    args = p.parse_args(argv)
    runs = []
    for i in range(args.runs):
        figures = run_once(args.jupyter_path)
        runs.append(figures)
        print(f"run {i + 1}: {json.dumps(figures)}", flush=True)
    mid = medians(runs)
    print(f"medians of {len(runs)} runs:")
    for key, value in mid.items():
        target = TARGETS.get(key)
        verdict = "" if target is None else f"  (target < {target}: {value < target})"
        print(f"  {key:26} {value:g}{verdict}")
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": mid}, indent=2) + "\n")
    return 0 if all(r["test_passed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
