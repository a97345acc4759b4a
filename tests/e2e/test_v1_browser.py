"""Protocol v1 in the browser (a proxy stripped the subprotocol): a full-screen program whose
switch to the alternate screen left history comes back in it after a reload.

Real `jupyter lab`, real shells, Debian's headless Chromium.
"""

from __future__ import annotations

from typing import Any

import pytest

from .test_panel import (
    PANEL,
    VISIBLE_TERM,
    launch_panel,
    open_lab,
    protocol_version,
    session_ids,
    type_command,
    visible_text,
    wait_tabs,
    wait_visible_text,
    wait_workspace_saved,
)

pytestmark = pytest.mark.browser

#: Enters the alternate screen, prints more than history keeps, draws its screen (mid-screen,
#: where the shell's next lines do not overwrite it), waits for a key, then leaves the
#: alternate screen.
PROGRAM = r"""
import sys, termios, tty
sys.stdout.write("\x1b[?1049h\x1b[H")
for i in range(2000):
    sys.stdout.write("filler %05d\r\n" % i)
sys.stdout.write("\x1b[2J\x1b[12;1Hscreen_" + str(6 * 7) + "\r\n")
sys.stdout.flush()
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
tty.setcbreak(fd)
try:
    sys.stdin.read(1)
finally:
    termios.tcsetattr(fd, termios.TCSADRAIN, old)
    sys.stdout.write("\x1b[?1049l")
    sys.stdout.flush()
"""


def test_v1_full_screen_program_comes_back_in_the_alternate_screen(
    lab_factory: Any, page: Any
) -> None:
    """Behind a proxy that strips the subprotocol, with a history too small to hold the
    program's switch to the alternate screen: after a reload its screen is back, in the
    alternate screen (the v1 replay's preamble put it there), so leaving it shows the shell's
    own screen again and not the program's."""
    lab = lab_factory(config={"TermMuxApp": {"history_limit": 16384}})
    lab.proxy.strip_request_subprotocol = True
    (lab.root_dir / "full.py").write_text(PROGRAM)
    open_lab(page, lab)
    launch_panel(page)
    assert protocol_version(page) == 1
    (sid,) = session_ids(page)
    type_command(page, "python3 full.py")
    wait_visible_text(page, "screen_42")
    wait_workspace_saved(lab, [sid])

    page.goto(f"{lab.url}lab")
    page.wait_for_selector(f"{PANEL}[data-status=connected]", timeout=60_000)
    wait_tabs(page, 1)
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")
    assert protocol_version(page) == 1
    wait_visible_text(page, "screen_42")

    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("q")
    type_command(page, "echo back_$((6*7))")
    wait_visible_text(page, "back_42")
    assert "screen_42" not in visible_text(page)  # it was the alternate screen's
