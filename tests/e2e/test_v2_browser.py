"""Protocol v2 in the browser: a full-screen program comes back after a reload, and flow
control keeps a slow page bounded and responsive (issues 8 and 9).

Real `jupyter lab`, real shells, Debian's headless Chromium. Timing figures are printed for the
closing note and asserted against the issue's targets with the slack a shared 2-core machine
needs; the benchmarks hold the precise numbers.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import LabServer, publish
from .test_panel import (
    PANEL,
    VISIBLE_TERM,
    launch_panel,
    new_tab,
    open_lab,
    require_v2,
    run,
    select_tab,
    session_ids,
    type_command,
    visible_text,
    wait_tabs,
    wait_visible_text,
    wait_workspace_saved,
)

pytestmark = pytest.mark.browser


def test_full_screen_program_comes_back_after_a_reload(
    lab: LabServer, page: Any, artifacts: Path
) -> None:
    """less in a tab, reload the page: the same screen is back (the replay's preamble puts the
    terminal in the alternate screen and less repaints on the resize nudge), and q returns to a
    clean prompt."""
    rows = "\n".join(
        f"row {i:03d}: the quick brown fox jumps over the lazy dog" for i in range(400)
    )
    (lab.root_dir / "notes.txt").write_text(rows + "\n")
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    (sid,) = session_ids(page)
    type_command(page, "less notes.txt")
    wait_visible_text(page, "row 010: the quick")
    page.keyboard.press("Space")  # page down: the screen now differs from the file's start
    wait_visible_text(page, "row 050: the quick")
    before = visible_text(page)
    wait_workspace_saved(lab, [sid])

    page.goto(f"{lab.url}lab")
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_tabs(page, 1)
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")
    wait_visible_text(page, "row 050: the quick")
    after = visible_text(page)
    shown = [line for line in before.splitlines() if line.startswith("row ")]
    assert shown and all(line in after for line in shown), (before[-300:], after[-300:])
    shot = artifacts / "fullscreen-restore.png"
    page.screenshot(path=str(shot))
    publish(shot, shot.name)

    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("q")
    type_command(page, "echo back_$((6*7))")
    wait_visible_text(page, "back_42")
    assert "row 050" not in visible_text(page)  # the alternate screen is gone


def _heap(cdp: Any) -> float:
    metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
    return float(metrics["JSHeapUsedSize"])


def test_slow_page_stays_bounded_and_responsive(lab: LabServer, page: Any) -> None:
    """With the page's CPU slowed 8x, a 100 MB flood in a background tab keeps the JS heap
    growth under 30 MB, commands in the foreground tab still answer (their delays and the long
    main-thread tasks are printed), and the background tab catches up when brought forward."""
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    new_tab(page)
    cdp = page.context.new_cdp_session(page)
    cdp.send("Performance.enable")
    cdp.send("HeapProfiler.collectGarbage")
    base_heap = _heap(cdp)
    page.evaluate(
        "() => { window.__lt = []; new PerformanceObserver(l => { for (const e of l.getEntries())"
        " window.__lt.push(e.duration) }).observe({entryTypes: ['longtask']}) }"
    )
    select_tab(page, 0)
    line = "x" * 149
    type_command(page, f"yes {line} | head -c 100000000; echo flood_$((6*7))")
    select_tab(page, 1)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 8})
    try:
        delays, typing = [], []
        peak_heap = 0.0
        for k in range(5):
            # The command line is typed and echoed first; the delay counted is Enter to output
            # (what "shows its output" means), the typing time is printed beside it.
            start = time.monotonic()
            page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
            page.keyboard.type(f"echo fg_$(({k}*7+1000))")
            wait_visible_text(page, f"echo fg_$(({k}*7+1000))")
            enter = time.monotonic()
            page.keyboard.press("Enter")
            wait_visible_text(page, f"fg_{k * 7 + 1000}")
            delays.append(time.monotonic() - enter)
            typing.append(enter - start)
            peak_heap = max(peak_heap, _heap(cdp))
        long_tasks = page.evaluate("() => window.__lt")
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    growth_mb = (peak_heap - base_heap) / 1e6
    print(
        f"8x CPU: foreground command, Enter to output, median {statistics.median(delays):.3f} s "
        f"(all {[round(d, 3) for d in delays]}; typing its 24 keys took a median "
        f"{statistics.median(typing):.3f} s), heap growth {growth_mb:.1f} MB, "
        f"longest task {max(long_tasks, default=0):.0f} ms over {len(long_tasks)} long tasks"
    )
    select_tab(page, 0)
    wait_visible_text(page, "flood_42", timeout=600_000)  # the background tab caught up
    # Memory is asserted; the timings are printed, not asserted (they measure the machine as
    # much as the code: performance lives in the benchmarks and the closing note).
    assert growth_mb < 30, growth_mb


def test_ctrl_c_during_a_flood_shows_the_prompt_quickly(lab: LabServer, page: Any) -> None:
    """At normal speed, Ctrl-C during a flood of 150-character lines from yes brings the prompt
    back quickly (the panel holds at most about a window of output)."""
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    # The shell must be reading commands first: a Ctrl-C while it still starts would flush the
    # typed line (its echo alone already shows the y's) and the prompt would never change.
    run(page, "shell_up", 21)
    # yes prints y_42_yyy...: the typed line's echo (y_$((6*7))_yyy...) never matches, so the
    # Ctrl-C goes out once the flood runs, not while the shell may still read the line.
    type_command(page, "PS1='ready_$((6*7))> '; yes y_$((6*7))_" + "y" * 144)
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.includes('y_42_yyyyyyyyyy')",
        arg=f"{VISIBLE_TERM} .xterm-rows",
    )
    start = time.monotonic()
    page.keyboard.press("Control+C")
    wait_visible_text(page, "ready_42> ")
    elapsed = time.monotonic() - start
    print(f"Ctrl-C to prompt during a yes flood: {elapsed:.3f} s")
    # Printed for the closing note (target 0.5 s); asserted only against a frozen page (the
    # v1 panel took 90 s), since a timing bound would measure the machine as much as the code.
    assert elapsed < 10.0, elapsed
