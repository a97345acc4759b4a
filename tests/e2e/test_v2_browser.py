"""Protocol v2 in the browser: a full-screen program comes back after a reload, and Ctrl-C during
a flood brings the prompt back quickly (the slow page with a background flood is
test_slow_page.py).

Real `jupyter lab`, real shells, Debian's headless Chromium. Timing figures are printed for the
closing note and asserted against the issue's targets with the slack a shared 2-core machine
needs; the benchmarks hold the precise numbers.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import LabServer, publish
from .test_panel import (
    PANEL,
    VISIBLE_TERM,
    launch_panel,
    open_lab,
    require_v2,
    run,
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
