"""Browser tests of a session shown twice in one page, of keys typed while the socket is down,
and of what the panel writes to the workspace: real JupyterLab, real shells, real Chromium.

Sentinels are computed by the shell (`echo x_$((6*7))` prints `x_42`), so the typed command
itself never matches; every wait waits for a condition.
"""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import LabServer
from .frames import PageSockets
from .test_panel import (
    PANEL,
    VISIBLE_TERM,
    attach_from_menu,
    attach_headless_session,
    end_terminal,
    headless_session,
    launch_panel,
    new_tab,
    open_lab,
    protocol_version,
    require_v2,
    run,
    session_ids,
    type_command,
    visible_text,
    wait_visible_text,
    wait_workspace_saved,
)

pytestmark = pytest.mark.browser

SHOWN_PANEL = f"{PANEL}:not(.lm-mod-hidden)"
SHOWN_TERM = f"{SHOWN_PANEL} .jp-TermMux-terminal:not(.lm-mod-hidden)"


def shown_text(page: Any) -> str:
    """Text of the rows of the shown panel's visible terminal."""
    return str(page.locator(f"{SHOWN_TERM} .xterm-rows").inner_text()).replace("\xa0", " ")


def wait_shown_text(page: Any, needle: str) -> None:
    """Wait until the shown panel's visible terminal shows `needle` in its rows."""
    page.wait_for_function(
        """([sel, needle]) => {
            const rows = document.querySelector(sel);
            return rows && rows.textContent.replace(/\\u00a0/g, ' ').includes(needle);
        }""",
        arg=[f"{SHOWN_TERM} .xterm-rows", needle],
    )


BUFFER_TEXT = """([panelSel, panel, sid]) => {
    const p = document.querySelectorAll(panelSel)[panel];
    const tab = p && p.querySelector(`.jp-TermMux-terminal[data-session-id="${sid}"]`);
    const term = tab && tab.termmuxTerminal;
    if (!term) { return null; }
    const buf = term.buffer.active;
    let text = '';
    for (let i = 0; i < buf.length; i++) {
        text += buf.getLine(i).translateToString(true) + '\\n';
    }
    return text;
}"""


def buffer_text(page: Any, panel: int, sid: str) -> str:
    """The xterm buffer of session `sid`'s tab in panel number `panel` (DOM order)."""
    return str(page.evaluate(BUFFER_TEXT, [PANEL, panel, sid]))


def wait_buffer_text(page: Any, panel: int, sid: str, needle: str) -> None:
    """Wait until the xterm buffer of session `sid`'s tab in panel number `panel` (DOM order)
    holds `needle`: a hidden panel's rows are not redrawn, its buffer is."""
    page.wait_for_function(
        f"""([panelSel, panel, sid, needle]) => {{
            const text = ({BUFFER_TEXT})([panelSel, panel, sid]);
            return text !== null && text.includes(needle);
        }}""",
        arg=[PANEL, panel, sid, needle],
    )


def open_second_panel(page: Any) -> None:
    """Open another panel with the palette command and wait for its first tab to attach."""
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Open Terminal Multiplexer")
    page.locator(".lm-CommandPalette-item", has_text="Open Terminal Multiplexer").first.click()
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL}').length === 2")
    page.wait_for_selector(f"{SHOWN_TERM}[data-state=attached]")


def second_panel_shows_the_session(page: Any, sid: str, early: str) -> None:
    """Open `sid` with Attach ▾ in a second panel: its earlier output is there at once, and
    output typed afterwards reaches both panels, each line once."""
    frames = PageSockets(page)
    open_second_panel(page)
    attach_from_menu(page, sid, SHOWN_PANEL)
    # Its earlier output, with nothing typed since: no redraw by the program.
    wait_shown_text(page, early)
    assert shown_text(page).count(early) == 1, shown_text(page)

    # Live output typed in the second panel reaches both.
    page.locator(f"{SHOWN_TERM} .xterm-screen").click()
    page.keyboard.type("echo both_$((6*7))")
    page.keyboard.press("Enter")
    wait_shown_text(page, "both_42")
    wait_buffer_text(page, 0, sid, "both_42")
    first = buffer_text(page, 0, sid)
    assert first.count(early) == 1 and first.count("both_42") == 1, first
    assert frames.sockets == [], "the second panel opened no socket of its own"


def test_a_second_panel_shows_a_session_at_once_and_both_stay_live(
    lab: LabServer, page: Any
) -> None:
    """A session open in one panel and opened with Attach ▾ in a second panel of the same page
    shows its earlier output there at once (drawn from the server's replay), the first panel
    keeps its own, and output typed afterwards reaches both, each line once."""
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    (sid,) = session_ids(page)
    second_panel_shows_the_session(page, sid, run(page, "early", 21))


def test_on_v1_a_second_panel_shows_a_session_at_once_and_both_stay_live(
    lab: LabServer, page: Any
) -> None:
    """Behind a proxy that strips the subprotocol (v1, whose server replays once per socket),
    a session opened with Attach ▾ in a second panel shows its earlier output there at once
    (drawn from what the first panel was given), the first panel keeps its own, and output
    typed afterwards reaches both, each line once."""
    lab.proxy.strip_request_subprotocol = True
    open_lab(page, lab)
    launch_panel(page)
    assert protocol_version(page) == 1
    (sid,) = session_ids(page)
    second_panel_shows_the_session(page, sid, run(page, "early", 21))


SESSION_ROWS = """([sel, sid]) => [...document.querySelectorAll(sel)]
    .filter(t => t.dataset.sessionId === sid && t.dataset.state === 'attached')
    .map(t => t.querySelector('.xterm-rows').textContent.replace(/\\u00a0/g, ' '))"""


def session_rows(page: Any, sid: str) -> list[str]:
    """The rows' text of every visible, attached tab of session `sid` (all panes)."""
    return list(page.evaluate(SESSION_ROWS, [VISIBLE_TERM, sid]))


def wait_session_rows(page: Any, sid: str, needle: str, tabs: int) -> None:
    """Wait until `tabs` visible tabs of session `sid` all show `needle`."""
    page.wait_for_function(
        f"""([sel, sid, needle, tabs]) => {{
            const rows = ({SESSION_ROWS})([sel, sid]);
            return rows.length === tabs && rows.every(r => r.includes(needle));
        }}""",
        arg=[VISIBLE_TERM, sid, needle, tabs],
    )


def test_a_split_of_the_same_panel_shows_the_session_at_once_and_both_stay_live(
    lab: LabServer, page: Any
) -> None:
    """A session opened with Attach ▾ in a split of the panel that shows it appears in both
    panes side by side: the new pane has the earlier output at once, the first keeps its
    own, and output typed afterwards reaches both, each line once; a reload brings both panes
    of it back, the current one current; closing one leaves the other attached and live."""
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    (sid,) = session_ids(page)
    early = run(page, "early", 21)
    page.locator(f"{PANEL} .jp-TermMux-split-right").click()
    page.wait_for_function(
        f"() => document.querySelectorAll('{VISIBLE_TERM}[data-state=attached]').length === 2"
    )
    attach_from_menu(page, sid)  # into the new pane, the current one
    wait_session_rows(page, sid, early, 2)
    assert all(r.count(early) == 1 for r in session_rows(page, sid)), session_rows(page, sid)

    page.keyboard.type("echo both_$((6*7))")
    page.keyboard.press("Enter")
    wait_session_rows(page, sid, "both_42", 2)
    for rows in session_rows(page, sid):
        assert rows.count(early) == 1 and rows.count("both_42") == 1, rows

    (other,) = set(session_ids(page)) - {sid}
    wait_workspace_saved(lab, [sid, other, sid])
    page.goto(f"{lab.url}lab")
    wait_session_rows(page, sid, "both_42", 2)
    for rows in session_rows(page, sid):
        assert rows.count(early) == 1 and rows.count("both_42") == 1, rows

    # Closing one of its two tabs (the current one, in the second pane) leaves the other live.
    bar = f"{PANEL} .lm-TabBar:has(.lm-TabBar-tab:nth-child(2))"
    page.locator(f"{bar} .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabCloseIcon").click()
    page.wait_for_function(
        "([sel, sid]) => [...document.querySelectorAll(sel)]"
        ".filter(t => t.dataset.sessionId === sid).length === 1",
        arg=[f"{PANEL} .jp-TermMux-terminal", sid],
    )
    page.locator(f"{VISIBLE_TERM}[data-session-id='{sid}'] .xterm-screen").click()
    page.keyboard.type("echo after_$((6*7))")
    page.keyboard.press("Enter")
    wait_session_rows(page, sid, "after_42", 1)


BARS = """sel => [...document.querySelectorAll(sel)]
    .map(b => [b.getBoundingClientRect().left,
               [...b.querySelectorAll('.lm-TabBar-tabLabel')].map(l => l.textContent)])
    .sort((a, b) => a[0] - b[0]).map(b => b[1])"""


def labels_by_pane(page: Any) -> list[list[str]]:
    """The tab labels of each pane of the panel, panes left to right."""
    return list(page.evaluate(BARS, f"{PANEL} .lm-TabBar"))


def test_a_reload_puts_each_tab_of_a_session_shown_twice_back_in_its_own_pane(
    lab: LabServer, page: Any
) -> None:
    """A session with a tab in two panes, each second in its pane and the right-hand one
    renamed: after a reload each tab is back in its own pane, its label with it."""
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    new_tab(page)  # left pane: [first, sid]
    first, sid = session_ids(page)
    page.locator(f"{PANEL} .jp-TermMux-split-right").click()  # right pane: [third]
    page.wait_for_function(
        f"() => document.querySelectorAll('{VISIBLE_TERM}[data-state=attached]').length === 2"
    )
    attach_from_menu(page, sid)  # right pane: [third, sid]
    right = f"{PANEL} .lm-TabBar:has(.lm-TabBar-tab:nth-child(2)) >> nth=1"
    page.locator(f"{right} >> .lm-TabBar-tab.lm-mod-current").click(button="right")
    page.locator(".lm-Menu").last.locator(
        ".lm-Menu-itemLabel", has_text="Rename Terminal Tab…"
    ).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("second_view")
    dialog.locator(".jp-mod-accept").click()
    page.wait_for_function(f"() => ({BARS})('{PANEL} .lm-TabBar')[1].includes('second_view')")
    (third,) = set(session_ids(page)) - {first, sid}
    wait_workspace_saved(lab, [first, sid, third, sid])

    page.goto(f"{lab.url}lab")
    wait_session_rows(page, sid, "", 2)  # both attached and in sight
    left_pane, right_pane = labels_by_pane(page)
    assert "second_view" in right_pane and "second_view" not in left_pane, labels_by_pane(page)


def test_keys_typed_while_down_never_reach_a_new_shell_under_the_name(
    lab: LabServer, page: Any
) -> None:
    """Keys typed while the socket is down are not sent when the re-attach finds another shell
    under the session's name (it ended and the name was reused meanwhile): the tab says so, and
    the new shell runs only what is typed after."""
    attach_headless_session(lab, page, "reused", "echo first_$((2*3))", "first_6")

    lab.proxy.refuse = True  # the page stays disconnected until released
    assert lab.proxy.cut_all() > 0
    page.wait_for_selector(f"{PANEL}[data-status=reconnecting]")
    end_terminal(lab, "reused")
    headless_session(lab, "reused", "echo second_$((3*3))", "second_9")
    type_command(page, "echo leaked_$((5*5))")  # typed for the old shell
    lab.proxy.refuse = False

    page.wait_for_selector(f"{PANEL}[data-status=connected]", timeout=60_000)
    wait_visible_text(page, "were not sent: the session is now another shell")
    wait_visible_text(page, "second_9")
    run(page, "after", 3)
    assert "leaked_25" not in visible_text(page), visible_text(page)


def test_output_flowing_writes_nothing_to_the_workspace(lab: LabServer, page: Any) -> None:
    """Once a panel's state is saved, several seconds of output write nothing more to the
    workspace (no PUT to /lab/api/workspaces): the saved state holds no stream position."""
    puts: list[str] = []
    counting = [False]

    def on_request(request: Any) -> None:
        if counting[0] and request.method == "PUT" and "/lab/api/workspaces" in request.url:
            puts.append(str(request.post_data))

    page.on("request", on_request)
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    (sid,) = session_ids(page)
    run(page, "ready", 1)
    wait_workspace_saved(lab, [sid], with_incarnation=True)
    # Seven seconds of output, paced by the program (the old resume-offset save ran every 5 s).
    type_command(
        page, "for i in $(seq 1 35); do echo tick_$((i+100)); sleep 0.2; done; echo q_$((6*7))"
    )
    wait_visible_text(page, "tick_101")
    counting[0] = True
    wait_visible_text(page, "q_42", timeout=60_000)
    counting[0] = False
    assert puts == [], puts
