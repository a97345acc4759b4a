"""End-to-end tests of the panel's terminal features (find, links, copy and paste, splits,
titles): real JupyterLab, real shells, real Chromium.

Every wait is for a sentinel the shell computes (`echo x_$((6*7))` prints `x_42`, the typed line
never matches) or a DOM state, never a fixed time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import re
from typing import Any

import pytest
import tornado.websocket

from .conftest import LabServer
from .test_panel import (
    PANEL,
    SOCKET_PATH,
    TAB,
    VISIBLE_TERM,
    launch_panel,
    new_tab,
    open_lab,
    run,
    select_tab,
    session_ids,
    termmux_sockets,
    type_command,
    wait_tabs,
    wait_visible_text,
    wait_workspace_saved,
)

pytestmark = pytest.mark.browser

TERM = f"{PANEL} .jp-TermMux-terminal"


def term_of(sid: str) -> str:
    """Selector of the terminal showing session `sid`."""
    return f'{TERM}[data-session-id="{sid}"]'


def wait_text_in(page: Any, sid: str, needle: str, timeout: float | None = None) -> None:
    """Wait until session `sid`'s terminal shows `needle`."""
    page.wait_for_function(
        """([sel, needle]) => {
            const rows = document.querySelector(sel);
            return rows && rows.textContent.replace(/\\u00a0/g, ' ').includes(needle);
        }""",
        arg=[f"{term_of(sid)} .xterm-rows", needle],
        timeout=timeout,
    )


def type_in(page: Any, sid: str, command: str) -> None:
    """Click session `sid`'s terminal (focus) and type a command line."""
    page.locator(f"{term_of(sid)} .xterm-screen").click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def tab_labels(page: Any) -> list[str]:
    """Labels of the panel's tabs, in tab-bar order."""
    return list(
        page.eval_on_selector_all(
            f"{TAB} .lm-TabBar-tabLabel", "els => els.map(e => e.textContent)"
        )
    )


def ask_socket(server: LabServer, msg: dict[str, Any]) -> dict[str, Any]:
    """Send one request on a socket of our own and return the answer carrying its id."""

    async def ask() -> dict[str, Any]:
        url = f"ws://127.0.0.1:{server.port}{server.base_url}{SOCKET_PATH}?token={server.token}"
        ws = await tornado.websocket.websocket_connect(url)
        try:
            await ws.write_message(json.dumps({**msg, "id": 7}))
            while True:
                answer = json.loads(await asyncio.wait_for(ws.read_message(), 30))
                if answer.get("id") == 7:
                    return dict(answer)
        finally:
            ws.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result(60)


def test_find_through_jupyterlab_search_bar(lab: LabServer, page: Any) -> None:
    """Ctrl+F in a focused termmux terminal opens JupyterLab's search bar, which counts the
    matches in the output (scrollback included), highlights them, and steps next/previous."""
    open_lab(page, lab)
    launch_panel(page)
    type_command(page, "for w in alpha beta gamma; do echo ${w}_$((6*7)); done")
    wait_visible_text(page, "gamma_42")
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+f")
    box = page.locator(".jp-DocumentSearch-input").first
    box.wait_for()
    box.fill("_42")
    counter = page.locator(".jp-DocumentSearch-index-counter")
    page.wait_for_function("el => el.textContent.trim() === '1/3'", arg=counter.element_handle())
    # Every match is decorated on screen.
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length >= 3",
        arg=f"{VISIBLE_TERM} .xterm-decoration-container .xterm-decoration",
    )
    box.press("Enter")
    page.wait_for_function("el => el.textContent.trim() === '2/3'", arg=counter.element_handle())
    box.press("Shift+Enter")
    page.wait_for_function("el => el.textContent.trim() === '1/3'", arg=counter.element_handle())
    box.press("Escape")
    # Edit > Find… reaches the same provider.
    page.locator(".lm-MenuBar-itemLabel", has_text="Edit").click()
    page.locator(".lm-Menu-itemLabel", has_text="Find…").first.click()
    box.wait_for()


def test_links_open_in_a_new_browser_tab(lab: LabServer, page: Any) -> None:
    """A URL in the output is a link; clicking it opens it in a new browser tab."""
    open_lab(page, lab)
    launch_panel(page)
    url = f"http://127.0.0.1:{lab.proxy.port}/termmux-link-42"
    type_command(page, f"echo http://127.0.0.1:{lab.proxy.port}/termmux-link-$((6*7))")
    wait_visible_text(page, url)
    link = page.locator(f"{VISIBLE_TERM} .xterm-rows span", has_text="termmux-link-42").last
    box = link.bounding_box()
    assert box is not None
    x, y = box["x"] + 5, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    with page.context.expect_page() as opened:
        page.mouse.click(x, y)
    new = opened.value
    new.wait_for_url(re.compile("termmux-link-42"))
    new.close()


def test_copy_paste_menu_and_a_big_paste(lab: LabServer, page: Any) -> None:
    """The context menu's Select All and Copy fill the clipboard, Ctrl+Shift+C copies a
    selection, Ctrl+V pastes; a 4 MB paste into a program that reads only after a pause reaches
    it byte for byte (chunks refused with input-overflow are re-sent) without freezing the page."""
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_lab(page, lab)
    launch_panel(page)
    run(page, "copyme", 21)
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Select All$")).click()
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Copy$")).click()
    page.wait_for_function(
        "async () => (await navigator.clipboard.readText()).includes('copyme_42')"
    )
    page.evaluate("() => navigator.clipboard.writeText('')")
    # Ctrl+Shift+C with a selection copies it (and opens no command palette).
    page.locator(f"{VISIBLE_TERM} .xterm-screen").dblclick()
    page.keyboard.press("Control+Shift+C")
    page.wait_for_function("async () => (await navigator.clipboard.readText()) !== ''")
    assert not page.locator(".lm-CommandPalette-input").is_visible()

    # Ctrl+V pastes (pasteWithCtrlV defaults to true).
    page.evaluate("() => navigator.clipboard.writeText('echo pv_$((3*5))')")
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+v")
    page.keyboard.press("Enter")
    wait_visible_text(page, "pv_15")

    lines = [f"{i:07d} " + "abcdefghij" * 9 + "\n" for i in range(40_000)]
    text = "".join(lines)  # 4.0 MB
    digest = hashlib.md5(text.encode()).hexdigest()
    page.evaluate("t => navigator.clipboard.writeText(t)", text)
    # The reader starts late, so the server's 1 MiB input queue fills and refuses chunks.
    # Wait until the command runs: readline has then turned bracketed paste off.
    type_command(page, "stty -echo; echo ready_$((2*5)); sleep 2; cat > big.txt; stty echo")
    wait_visible_text(page, "ready_10")
    page.evaluate(
        """() => { window.__lt = []; new PerformanceObserver(l => {
            for (const e of l.getEntries()) window.__lt.push(e.duration) })
            .observe({entryTypes: ['longtask']}) }"""
    )
    page.keyboard.press("Control+Shift+V")
    page.wait_for_selector(
        f"{VISIBLE_TERM}[data-pasting=false][data-paste-chunks]", timeout=120_000
    )
    page.keyboard.press("Control+d")
    type_command(page, "echo md5_$(md5sum < big.txt | cut -c1-32)")
    wait_visible_text(page, f"md5_{digest}")
    chunks = page.get_attribute(VISIBLE_TERM, "data-paste-chunks")
    retries = page.get_attribute(VISIBLE_TERM, "data-paste-retries")
    longest = page.evaluate("() => Math.max(0, ...window.__lt)")
    print(
        f"\n4 MB paste: {chunks} chunks, {retries} re-sent after input-overflow, "
        f"longest main-thread task {longest:.0f} ms"
    )
    assert (lab.root_dir / "big.txt").stat().st_size == len(text)
    assert longest < 1000


def test_open_terminal_here_and_new_in_the_browsed_folder(lab: LabServer, page: Any) -> None:
    """The file browser's context menu on a folder opens a terminal there; + New starts in the
    folder the file browser shows."""
    (lab.root_dir / "here_dir" / "inner").mkdir(parents=True)
    open_lab(page, lab)
    item = page.locator('.jp-DirListing-item[data-isdir="true"]', has_text="here_dir")
    item.click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Open Terminal Here").click()
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")
    type_command(page, 'echo "cwd_$(basename $PWD)_$((1+1))"')
    wait_visible_text(page, "cwd_here_dir_2")
    # Browse into here_dir/inner, then + New starts there.
    item.dblclick()
    page.locator('.jp-DirListing-item[data-isdir="true"]', has_text="inner").dblclick()
    page.wait_for_selector(".jp-BreadCrumbs >> text=inner")
    new_tab(page)
    type_command(page, 'echo "cwd_$(basename $PWD)_$((2+1))"')
    wait_visible_text(page, "cwd_inner_3")


def test_profile_launcher_tiles_and_menu(lab_factory: Any, page: Any) -> None:
    """A server with profiles gets one launcher tile per non-default profile, which opens a tab
    running it (labelled with its name), and the "+ New ▾" menu is shown; a server without
    `profile.list` hides the menu (unit-tested in profiles.spec.ts: it answers unknown-type)."""
    profile = {"name": "marked", "command": ["bash", "--norc"], "env": {"MARK": "profiled"}}
    server = lab_factory(config={"TermMuxApp": {"profiles": [profile]}})
    answer = ask_socket(server, {"type": "profile.list"})
    assert [p["name"] for p in answer["profiles"]] == ["default", "marked"], answer
    open_lab(page, server)
    page.locator(".jp-LauncherCard", has_text=re.compile("^marked$")).click()
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")
    page.wait_for_selector(f"{TAB} .lm-TabBar-tabLabel:text-is('marked')")
    type_command(page, "echo ${MARK}_$((3*7))")
    wait_visible_text(page, "profiled_21")
    page.wait_for_selector(f"{PANEL} .jp-TermMux-newMenu:not([hidden])")
    # Only the non-default profile has a tile (the default is the Terminals tile).
    page.locator("#jp-main-dock-panel > .lm-TabBar .lm-TabBar-addButton").first.click()
    page.locator(".jp-LauncherCard:visible", has_text=re.compile("^marked$")).wait_for()
    assert page.locator(".jp-LauncherCard", has_text=re.compile("^default$")).count() == 0


def test_split_view_navigation_and_restore(lab: LabServer, page: Any) -> None:
    """Split right and down: three terminals side by side in one panel on the page's one socket;
    Ctrl+Alt+arrows move between panes; a reload restores the panes with their sessions."""
    sockets = termmux_sockets(page)
    open_lab(page, lab)
    launch_panel(page)
    page.locator(f"{PANEL} .jp-TermMux-split-right").click()
    wait_tabs(page, 2)
    page.locator(f"{PANEL} .jp-TermMux-split-down").click()
    wait_tabs(page, 3)
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length === 3", arg=f"{TERM}:not(.lm-mod-hidden)"
    )
    left, right_top, right_bottom = order_by_position(page)
    for k, sid in enumerate((left, right_top, right_bottom)):
        page.wait_for_selector(f"{term_of(sid)}[data-state=attached]")
        type_in(page, sid, f"echo pane{k}_$(({k}+40))")
        wait_text_in(page, sid, f"pane{k}_{k + 40}")
    # From the bottom-right pane: up, then left.
    page.keyboard.press("Control+Alt+ArrowUp")
    page.wait_for_selector(f"{term_of(right_top)}.jp-TermMux-current")
    page.keyboard.press("Control+Alt+ArrowLeft")
    page.wait_for_selector(f"{term_of(left)}.jp-TermMux-current")
    page.keyboard.type("echo nav_$((5*5))")
    page.keyboard.press("Enter")
    wait_text_in(page, left, "nav_25")
    assert len(sockets) == 1, [s.url for s in sockets]

    wait_workspace_saved(lab, session_ids(page))
    page.goto(f"{lab.url}lab")
    page.wait_for_function(
        "sel => document.querySelectorAll(sel).length === 3", arg=f"{TERM}:not(.lm-mod-hidden)"
    )
    assert order_by_position(page) == [left, right_top, right_bottom]
    for k, sid in enumerate((left, right_top, right_bottom)):
        wait_text_in(page, sid, f"pane{k}_{k + 40}")


def order_by_position(page: Any) -> list[str]:
    """Session ids of the visible terminals, left to right, then top to bottom."""
    return list(
        page.eval_on_selector_all(
            f"{TERM}:not(.lm-mod-hidden)",
            """els => els.map(e => [e.getBoundingClientRect(), e.dataset.sessionId])
                .sort((a, b) => (a[0].left - b[0].left) || (a[0].top - b[0].top))
                .map(x => x[1])""",
        )
    )


def test_titles_bell_and_exit_codes(lab: LabServer, page: Any) -> None:
    """The tab follows the program's title until renamed; a bell in a background tab marks it
    until viewed; an ended session keeps its screen and shows its exit code or signal."""
    open_lab(page, lab)
    launch_panel(page)
    type_command(page, r"printf '\033]0;title_%s\007' $((6*7)); cat")
    page.wait_for_selector(f"{TAB} .lm-TabBar-tabLabel:text-is('title_42')")
    page.keyboard.press("Control+c")
    (first,) = session_ids(page)

    # A bell rings in the first tab while the second is shown.
    type_command(page, r"while [ ! -e ring ]; do sleep 0.1; done; printf 'rang_%s\a\n' $((2*4))")
    new_tab(page)
    type_command(page, "touch ring")
    page.wait_for_selector(f"{TAB}.jp-TermMux-bell")
    select_tab(page, 0)
    wait_visible_text(page, "rang_8")
    assert page.locator(f"{TAB}.jp-TermMux-bell").count() == 0

    # Exit code and signal in the tab; the last screen stays.
    select_tab(page, 1)
    type_command(page, "echo last_$((3*3)); exit 3")
    page.wait_for_selector(f"{TAB} .lm-TabBar-tabLabel:text-matches('\\\\[exit 3\\\\]$')")
    wait_visible_text(page, "last_9")
    select_tab(page, 0)
    type_command(page, "kill -9 $$")
    page.wait_for_selector(f"{TAB} .lm-TabBar-tabLabel:text-matches('\\\\[SIGKILL\\\\]$')")
    assert page.get_attribute(term_of(first), "data-exit") == "SIGKILL"


def test_keyboard_tabs_toggle_zoom_and_ctrl_w(lab: LabServer, page: Any) -> None:
    """Ctrl+Alt+PageDown/PageUp switch tabs, Ctrl+` toggles the panel, Ctrl+= / Ctrl+- zoom the
    panel's font, and Ctrl+W reaches the shell (word erase) with a beforeunload guard set."""
    open_lab(page, lab)
    launch_panel(page)
    new_tab(page)
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Alt+PageDown")
    page.wait_for_selector(f"{TAB}:nth-child(1).lm-mod-current")
    page.keyboard.press("Control+Alt+PageUp")
    page.wait_for_selector(f"{TAB}:nth-child(2).lm-mod-current")

    size = "sel => parseFloat(getComputedStyle(document.querySelector(sel)).fontSize)"
    rows = f"{VISIBLE_TERM} .xterm-rows"
    before = page.evaluate(size, rows)
    page.keyboard.press("Control+Equal")
    page.keyboard.press("Control+Equal")
    page.wait_for_selector(f"{PANEL}[data-zoom='2']")
    page.wait_for_function(f"([sel, b]) => ({size})(sel) === b + 2", arg=[rows, before])
    page.keyboard.press("Control+Minus")
    page.wait_for_selector(f"{PANEL}[data-zoom='1']")
    assert page.evaluate("() => document.body.style.zoom || '1'") == "1"

    page.keyboard.type("echo ww_$((2*4)) zz")
    page.keyboard.press("Control+w")
    page.keyboard.press("Enter")
    wait_visible_text(page, "ww_8")
    assert "ww_8 zz" not in page.locator(f"{VISIBLE_TERM} .xterm-rows").inner_text()

    # Ctrl+` leaves the panel for the last other main-area widget (a launcher), and back.
    page.locator("#jp-main-dock-panel > .lm-TabBar .lm-TabBar-addButton").first.click()
    page.wait_for_selector(f"{PANEL}.lm-mod-hidden", state="attached")
    page.locator("#jp-main-dock-panel .lm-TabBar-tab", has_text="Terminals").click()
    page.wait_for_selector(f"{PANEL}:not(.lm-mod-hidden)")
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Backquote")
    page.wait_for_selector(f"{PANEL}.lm-mod-hidden", state="attached")
    page.keyboard.press("Control+Backquote")
    page.wait_for_selector(f"{PANEL}:not(.lm-mod-hidden)")

    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.on("dialog", lambda d: d.dismiss())
    with page.expect_event("dialog") as dialog:
        page.close(run_before_unload=True)
    assert dialog.value.type == "beforeunload"
    assert not page.is_closed()
