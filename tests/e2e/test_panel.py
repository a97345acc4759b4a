"""End-to-end tests of the termmux panel: real JupyterLab, real terminals, real Chromium.

Each test waits for sentinel strings computed by the shell (`echo x_$((6*7))` prints `x_42`, so the
typed command itself never matches), never for a fixed time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import re
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import tornado.websocket

from .conftest import PAGE_TIMEOUT_MS, LabServer, restart_lab
from .frames import PageSockets, join_streams, session_stream

pytestmark = pytest.mark.browser

PANEL = ".jp-TermMux-panel"
TAB = f"{PANEL} .lm-TabBar-tab"
VISIBLE_TERM = f"{PANEL} .jp-TermMux-terminal:not(.lm-mod-hidden)"
SOCKET_PATH = "api/termmux/socket"


def termmux_sockets(page: Any) -> list[Any]:
    """Record every termmux WebSocket the page opens (from now on)."""
    sockets: list[Any] = []
    page.on("websocket", lambda ws: sockets.append(ws) if SOCKET_PATH in ws.url else None)
    return sockets


def open_lab(page: Any, server: LabServer) -> None:
    """Open /lab?reset (logging in with the token) and wait for the launcher."""
    page.goto(server.lab_url())
    page.wait_for_selector(".jp-Launcher")


def launch_panel(page: Any) -> None:
    """Click the launcher tile and wait for the panel's first tab to be connected."""
    page.locator(".jp-LauncherCard", has_text=re.compile(r"^Terminals$")).first.click()
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_tabs(page, 1)
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")


def wait_tabs(page: Any, n: int) -> None:
    """Wait until the panel has exactly n tabs."""
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel).length === n", arg=[TAB, n]
    )


def new_tab(page: Any) -> None:
    """Create a tab with the toolbar's New button and wait until it is attached."""
    n = page.locator(TAB).count()
    page.locator(f"{PANEL} .jp-TermMux-new").click()
    wait_tabs(page, n + 1)
    page.wait_for_function(
        "sel => { const t = document.querySelector(sel); return t && t.dataset.state === 'attached'; }",
        arg=VISIBLE_TERM,
    )


def select_tab(page: Any, index: int) -> None:
    """Click tab `index` and wait until it is the current one."""
    page.locator(TAB).nth(index).click()
    page.wait_for_function(
        "([sel, i]) => document.querySelectorAll(sel)[i].classList.contains('lm-mod-current')",
        arg=[TAB, index],
    )


def attach_from_menu(page: Any, sid: str, panel: str = PANEL) -> None:
    """Open session `sid` in `panel` from its Attach ▾ menu and wait until its tab is shown
    and attached."""
    page.locator(f"{panel} .jp-TermMux-attach").click()
    # Exact: "Terminal 1" must not also match "Terminal 10".
    label = re.compile(rf"^Terminal {re.escape(sid)}$")
    page.locator(".jp-TermMux-attachMenu .lm-Menu-itemLabel").filter(has_text=label).click()
    page.wait_for_selector(
        f"{panel} .jp-TermMux-terminal:not(.lm-mod-hidden)"
        f"[data-session-id='{sid}'][data-state=attached]"
    )


def visible_text(page: Any) -> str:
    """Text of the visible terminal's rows."""
    return str(page.locator(f"{VISIBLE_TERM} .xterm-rows").inner_text()).replace("\xa0", " ")


def wait_visible_text(page: Any, needle: str, timeout: float | None = None) -> None:
    """Wait until the visible terminal shows `needle`."""
    page.wait_for_function(
        """([sel, needle]) => {
            const rows = document.querySelector(sel);
            return rows && rows.textContent.replace(/\\u00a0/g, ' ').includes(needle);
        }""",
        arg=[f"{VISIBLE_TERM} .xterm-rows", needle],
        timeout=timeout,
    )


def type_command(page: Any, command: str) -> None:
    """Focus the visible terminal and type a command line."""
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.type(command)
    page.keyboard.press("Enter")


def run(page: Any, tag: str, k: int) -> str:
    """Type `echo tag_$((k*2))` in the visible tab, wait for its output, return the output."""
    expected = f"{tag}_{k * 2}"
    type_command(page, f"echo {tag}_$(({k}*2))")
    wait_visible_text(page, expected)
    return expected


def session_ids(page: Any) -> list[str]:
    """Session ids of the panel's tabs, in tab order."""
    ids: list[str] = page.eval_on_selector_all(
        f"{PANEL} .jp-TermMux-terminal", "els => els.map(e => e.dataset.sessionId)"
    )
    order: list[str] = page.eval_on_selector_all(
        TAB, "els => els.map(e => e.querySelector('.lm-TabBar-tabLabel').textContent)"
    )
    assert len(order) == len(ids)
    return ids


STATUS = f"{PANEL} .jp-TermMux-status"


def protocol_version(page: Any) -> int:
    """The protocol the page's socket speaks, as the connection indicator shows it."""
    page.wait_for_selector(f"{STATUS}[data-protocol='1'], {STATUS}[data-protocol='2']")
    return int(page.locator(STATUS).first.get_attribute("data-protocol"))


def require_v2(page: Any) -> None:
    """Skip unless the server negotiated protocol v2 (it sends `hello`)."""
    if protocol_version(page) != 2:
        pytest.skip("the server does not speak protocol v2 yet")


def seq_lines(text: str) -> list[int]:
    """The numbers of every output line that is a number alone (`seq` output); control
    sequences (bash's bracketed-paste switch before a command's output) and what a carriage
    return overwrote are dropped, as on screen."""
    clean = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
    shown = (line.rstrip("\r").split("\r")[-1] for line in clean.split("\n"))
    return [int(line) for line in shown if line.isdigit()]


def wait_until(page: Any, cond: Any, what: str, timeout: float = PAGE_TIMEOUT_MS / 1000) -> None:
    """Poll ``cond()`` (a question to the server) every 100 ms until it holds; the page keeps
    handling its events meanwhile."""
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        page.wait_for_timeout(100)  # poll interval; the condition is cond()


def server_terminals(server: LabServer) -> set[str]:
    """Names of the server's running terminals (GET /api/terminals)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{server.base_url}api/terminals",
        headers={"Authorization": f"token {server.token}"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        return {t["name"] for t in json.loads(resp.read())}


def end_terminal(server: LabServer, name: str) -> None:
    """End terminal `name` on the server (DELETE /api/terminals/name)."""
    delete = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{server.base_url}api/terminals/{name}",
        method="DELETE",
        headers={"Authorization": f"token {server.token}"},
    )
    urllib.request.urlopen(delete, timeout=30).close()


def session_clients(server: LabServer) -> dict[str, int]:
    """`session.list` over a socket of our own: clients attached per session (ours excluded)."""

    async def ask() -> dict[str, int]:
        url = f"ws://127.0.0.1:{server.port}{server.base_url}{SOCKET_PATH}?token={server.token}"
        ws = await tornado.websocket.websocket_connect(url)
        try:
            await ws.write_message(json.dumps({"type": "session.list", "id": 1}))
            while True:
                msg = json.loads(await asyncio.wait_for(ws.read_message(), 30))
                if msg.get("id") == 1:
                    return {s["sessionId"]: s["clients"] for s in msg["sessions"]}
        finally:
            ws.close()

    # Sync Playwright owns this thread's event loop: talk from another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, ask()).result(60)


def wait_workspace_saved(
    server: LabServer, session_ids: list[str], with_incarnation: bool = False
) -> None:
    """Wait until the server-side workspace holds the panel layout and its tabs' sessions (and,
    if asked, each tab's v2 incarnation)."""
    req = urllib.request.Request(
        f"http://127.0.0.1:{server.port}{server.base_url}lab/api/workspaces/default",
        headers={"Authorization": f"token {server.token}"},
    )
    deadline = time.monotonic() + PAGE_TIMEOUT_MS / 1000
    while time.monotonic() < deadline:
        with urllib.request.urlopen(req, timeout=30) as resp:
            data = json.loads(resp.read()).get("data", {})
        panels = [v for k, v in data.items() if k.startswith("jupyter-termmux:panel:")]
        restorable = any(k.startswith("termmux:") for k in data)
        if restorable and any(
            [t["sessionId"] for t in p.get("tabs", [])] == session_ids
            and (not with_incarnation or all("incarnation" in t for t in p["tabs"]))
            for p in panels
        ):
            return
        time.sleep(0.1)  # poll interval; the condition is the saved workspace
    raise AssertionError(f"workspace never saved the panel: {data}")


def test_three_tabs_route_output_keep_content_and_share_one_socket(
    lab: LabServer, page: Any, artifacts: Path
) -> None:
    """The launcher opens the panel; three tabs each show only their own output over a single
    WebSocket; switching keeps content; a background tab's activity mark appears and clears; a
    reload restores the same tabs attached to the same sessions with their output replayed."""
    sockets = termmux_sockets(page)
    open_lab(page, lab)
    launch_panel(page)
    new_tab(page)
    new_tab(page)
    wait_tabs(page, 3)

    outputs = []
    for i in range(3):
        select_tab(page, i)
        outputs.append(run(page, f"tab{i}", 1000 + i))
    # Each tab shows its own output only, and kept it across the switches.
    for i in range(3):
        select_tab(page, i)
        wait_visible_text(page, outputs[i])
        text = visible_text(page)
        for j in range(3):
            if j != i:
                assert outputs[j] not in text, f"tab {i} shows tab {j}'s output"

    # Activity: output reaching tab 0's PTY while tab 2 is shown marks tab 0 until viewed.
    select_tab(page, 0)
    type_command(page, "echo TTY=$(tty)_E$((2+3))X")
    wait_visible_text(page, "_E5X")
    tty = re.search(r"TTY=(/dev/pts/\d+)_E5X", visible_text(page))
    assert tty, visible_text(page)
    select_tab(page, 2)
    type_command(page, f"echo bg_$((21*2)) > {tty.group(1)}")
    page.wait_for_selector(f"{TAB}.jp-TermMux-activity")
    assert page.locator(TAB).nth(0).evaluate("e => e.classList.contains('jp-TermMux-activity')")
    select_tab(page, 0)
    wait_visible_text(page, "bg_42")
    page.wait_for_function(
        "sel => !document.querySelector(sel).classList.contains('jp-TermMux-activity')",
        arg=f"{TAB}:nth-child(1)",
    )

    # Exactly one termmux socket for the page, however many tabs.
    assert len(sockets) == 1, [ws.url for ws in sockets]

    select_tab(page, 1)
    type_command(
        page,
        "printf '\\e[1;32m%s\\e[0m terminals, one socket_%s\\n' 3 $((40+2)); ls -la --color=always /",
    )
    wait_visible_text(page, "one socket_42")
    shot = artifacts / "termmux-panel-three-tabs.png"
    page.screenshot(path=str(shot))

    before = session_ids(page)
    assert len(set(before)) == 3
    assert set(before) <= server_terminals(lab)

    wait_workspace_saved(lab, before)
    # Reload: same tabs, same sessions, recent output replayed, terminals still work.
    page.goto(f"{lab.url}lab")
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_tabs(page, 3)
    assert session_ids(page) == before
    select_tab(page, 0)
    wait_visible_text(page, outputs[0])
    assert visible_text(page).count(outputs[0]) == 1, "replayed output doubled"
    select_tab(page, 2)
    wait_visible_text(page, outputs[2])
    run(page, "after_reload", 77)
    assert len(sockets) == 2, "one socket per page load"


def test_reconnect_after_the_server_side_drops_every_connection(lab: LabServer, page: Any) -> None:
    """Cutting every TCP connection makes the page reconnect on its own; tabs are re-attached
    with their output shown once, and input typed while reconnecting runs after re-attach. On v2
    each tab resumes with `since` at exactly the byte it had: no replay, no gap, no doubling."""
    sockets = termmux_sockets(page)
    frames = PageSockets(page)
    open_lab(page, lab)
    launch_panel(page)
    new_tab(page)
    select_tab(page, 0)
    first = run(page, "pre0", 500)
    select_tab(page, 1)
    second = run(page, "pre1", 600)

    lab.proxy.refuse = True  # new termmux sockets are refused until released
    assert lab.proxy.cut_all() > 0
    page.wait_for_selector(f"{PANEL}[data-status=reconnecting]")
    # Typed while there is no socket: queued, sent after the re-attach.
    type_command(page, "echo queued_$((4*8))")
    lab.proxy.refuse = False
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_visible_text(page, "queued_32")
    wait_visible_text(page, second)
    assert visible_text(page).count(second) == 1, "replay doubled the output"
    run(page, "post1", 700)
    select_tab(page, 0)
    wait_visible_text(page, first)
    assert visible_text(page).count(first) == 1
    run(page, "post0", 800)
    assert len(sockets) >= 2
    if protocol_version(page) == 2:
        old, new = frames.sockets[0], frames.sockets[-1]
        for sid in session_ids(page):
            before, after = session_stream(old, sid), session_stream(new, sid)
            (attach,) = [m for m in new.sent("session.attach") if m["sessionId"] == sid]
            assert attach["since"] == before.end, (attach, before.end)
            assert after.start == before.end and after.replayed == 0 and after.truncated == 0


def test_detach_keeps_the_session_and_attach_menu_reopens_it(lab: LabServer, page: Any) -> None:
    """Closing a tab only detaches (the terminal keeps running on the server); the Attach menu
    lists it and reopens it with its output; shutting down after confirmation terminates it."""
    open_lab(page, lab)
    launch_panel(page)
    out = run(page, "keep", 4321)
    (sid,) = session_ids(page)
    page.locator(f"{TAB} .lm-TabBar-tabCloseIcon").first.click()
    wait_tabs(page, 0)
    assert sid in server_terminals(lab)
    # Detached for real: no client left on the session (the page's socket stays open).
    wait_until(page, lambda: session_clients(lab).get(sid) == 0, "no client on the session")

    attach_from_menu(page, sid)
    wait_tabs(page, 1)
    wait_visible_text(page, out)
    run(page, "again", 11)

    # Rename through the command palette.
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Rename Terminal Tab")
    page.locator(".lm-CommandPalette-item", has_text="Rename Terminal Tab").first.click()
    page.locator(".jp-Dialog input").fill("build logs")
    page.locator(".jp-Dialog .jp-mod-accept").click()
    page.wait_for_selector(f"{TAB} .lm-TabBar-tabLabel:text-is('build logs')")

    # Shut down through the command palette, confirming the dialog.
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Shut Down Terminal Session")
    page.locator(".lm-CommandPalette-item", has_text="Shut Down Terminal Session").first.click()
    page.locator(".jp-Dialog button", has_text="Shut Down").click()
    wait_tabs(page, 0)
    # The tab goes once the server answered session.closed; poll the REST list for its removal.
    wait_until(page, lambda: sid not in server_terminals(lab), "the session to end")


def terminal_background(page: Any) -> str:
    """Computed background colour of the visible xterm viewport."""
    return str(
        page.eval_on_selector(
            f"{VISIBLE_TERM} .xterm-viewport", "e => getComputedStyle(e).backgroundColor"
        )
    )


def test_under_a_base_url_with_live_theme(lab_factory: Any, page: Any) -> None:
    """Under --ServerApp.base_url=/user/alice/ the socket URL carries the base URL and works, and
    the terminals follow a switch to JupyterLab Dark live."""
    server = lab_factory("/user/alice/")
    sockets = termmux_sockets(page)
    open_lab(page, server)
    launch_panel(page)
    run(page, "alice", 21)
    assert len(sockets) == 1
    assert sockets[0].url.startswith(
        f"ws://127.0.0.1:{server.proxy.port}/user/alice/{SOCKET_PATH}"
    ), sockets[0].url

    assert terminal_background(page) == "rgb(255, 255, 255)"
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Use Theme: JupyterLab Dark")
    page.locator(".lm-CommandPalette-item", has_text="Use Theme: JupyterLab Dark").first.click()
    # The default `inherit` theme: JupyterLab Dark's --jp-layout-color0 (#111111).
    page.wait_for_function(
        "sel => getComputedStyle(document.querySelector(sel)).backgroundColor === 'rgb(17, 17, 17)'",
        arg=f"{VISIBLE_TERM} .xterm-viewport",
    )
    run(page, "dark", 5)


def test_large_output_arrives_whole_and_exit_is_shown(lab: LabServer, page: Any) -> None:
    """A fast 300 000-line stream in a background tab arrives whole, every line once and in
    order (checked on the frames the page received: nothing dropped, doubled or truncated), while
    the foreground tab stays usable; a second panel shares the page's one socket; a shell that
    exits says so in its tab."""
    frames = PageSockets(page)
    open_lab(page, lab)
    launch_panel(page)
    new_tab(page)
    select_tab(page, 0)
    streamed = session_ids(page)[0]
    type_command(page, "seq 1 300000; echo big_$((50*2))")
    select_tab(page, 1)
    run(page, "fg", 9)  # the foreground tab answers while the background one streams
    select_tab(page, 0)
    wait_visible_text(page, "big_100", timeout=120_000)
    lines = [line.strip() for line in visible_text(page).splitlines()]
    end = lines.index("big_100")
    assert lines[end - 3 : end] == ["299998", "299999", "300000"], lines[-10:]
    # Every line of the stream reached the page, in order, once (v1 text or v2 binary frames).
    assert len(frames.sockets) == 1
    stream = session_stream(frames.sockets[0], streamed)
    assert stream.truncated == 0
    text = stream.data.decode()
    assert "big_100" in text
    numbers = seq_lines(text)
    assert numbers == list(range(1, 300001)), (len(numbers), numbers[:3], numbers[-3:])

    # A second panel (palette command) opens no second socket.
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Open Terminal Multiplexer")
    page.locator(".lm-CommandPalette-item", has_text="Open Terminal Multiplexer").first.click()
    page.wait_for_function(f"() => document.querySelectorAll('{PANEL}').length === 2")
    current_panel = f"{PANEL}:not(.lm-mod-hidden)"
    page.wait_for_selector(f"{current_panel} .jp-TermMux-terminal[data-state=attached]")
    assert len(frames.sockets) == 1, [s.url for s in frames.sockets]

    # The shell exits: its tab says so and is marked.
    term = f"{current_panel} .jp-TermMux-terminal:not(.lm-mod-hidden)"
    page.locator(f"{term} .xterm-screen").click()
    page.keyboard.type("exit 3")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"{term}[data-state=exited]")
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent.includes('exited with code 3')",
        arg=f"{term} .xterm-rows",
    )


def test_reload_during_output_loses_nothing(lab: LabServer, page: Any) -> None:
    """On v2, reloading the page while a program prints brings the tab back attached to the
    same shell (the saved incarnation is sent), and the two pages together received every line
    of the output once in order: the new page's stream starts no later than the old one ended."""
    frames = PageSockets(page)
    open_lab(page, lab)
    launch_panel(page)
    require_v2(page)
    (sid,) = session_ids(page)
    # Paced by the program itself, so the reload lands in the middle of the output.
    type_command(page, "for i in $(seq 1 800); do echo $i; sleep 0.005; done; echo fin_$((6*7))")
    wait_visible_text(page, "60")
    wait_workspace_saved(lab, [sid])
    page.goto(f"{lab.url}lab")
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_tabs(page, 1)
    assert session_ids(page) == [sid]
    wait_visible_text(page, "fin_42")

    assert len(frames.sockets) == 2, "one socket per page load"
    before, after = (session_stream(log, sid) for log in frames.sockets)
    assert before.end is not None and before.end > 0, "the first page got no output"
    assert b"fin_42" not in before.data, "the reload did not happen during the output"
    numbers = seq_lines(join_streams(before, after).decode())
    assert numbers == list(range(1, 801)), (len(numbers), numbers[:3], numbers[-3:])
    # The reloaded page told the server which shell it had seen.
    first_incarnation = frames.sockets[0].received("session.attached")[0]["incarnation"]
    attach = frames.sockets[1].sent("session.attach")[0]
    assert attach.get("incarnation") == first_incarnation, attach


def test_a_reused_name_is_shown_as_a_new_shell(lab: LabServer, page: Any) -> None:
    """On v2, a tab restored after its shell ended and another shell took the same name says
    that it is a new shell, instead of silently showing another shell under the old tab."""
    attach_headless_session(lab, page, "reused", "echo first_$((2*3))", "first_6")
    ids = session_ids(page)
    wait_workspace_saved(lab, ids, with_incarnation=True)
    end_terminal(lab, "reused")
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=exited]")
    headless_session(lab, "reused", "echo second_$((3*3))", "second_9")

    page.goto(f"{lab.url}lab")
    page.wait_for_selector(f"{PANEL}[data-status=connected]")
    wait_tabs(page, 2)
    select_tab(page, ids.index("reused"))
    wait_visible_text(page, "this is a new shell")
    wait_visible_text(page, "second_9")
    assert "first_6" not in visible_text(page)
    page.wait_for_selector(f"{VISIBLE_TERM}[data-new-shell=true]")


def headless_session(server: LabServer, sid: str, command: str, sentinel: str) -> None:
    """Over a socket of our own (v1, no browser): create session `sid`, run `command` in it,
    wait until its output shows `sentinel`, detach. Nothing answers terminal queries."""

    async def drive() -> None:
        url = f"ws://127.0.0.1:{server.port}{server.base_url}{SOCKET_PATH}?token={server.token}"
        ws = await tornado.websocket.websocket_connect(url)
        try:
            await ws.write_message(json.dumps({"type": "session.create", "sessionId": sid}))
            await ws.write_message(json.dumps({"type": "session.attach", "sessionId": sid}))
            await ws.write_message(
                json.dumps({"type": "terminal.input", "sessionId": sid, "data": command + "\r"})
            )
            seen = ""
            while sentinel not in seen:
                msg = json.loads(await asyncio.wait_for(ws.read_message(), 30))
                if msg.get("type") == "terminal.output":
                    seen += msg["data"]
            await ws.write_message(json.dumps({"type": "session.detach", "sessionId": sid}))
        finally:
            ws.close()

    # Sync Playwright owns this thread's event loop: talk from another thread.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, drive()).result(60)


def attach_headless_session(
    server: LabServer, page: Any, sid: str, command: str, sentinel: str
) -> None:
    """Start session `sid` running `command` without the page (`headless_session`), open Lab
    with a panel on v2 and open `sid` from the Attach menu as its second tab, showing
    `sentinel`."""
    headless_session(server, sid, command, sentinel)
    open_lab(page, server)
    launch_panel(page)
    require_v2(page)
    attach_from_menu(page, sid)
    wait_tabs(page, 2)
    wait_visible_text(page, sentinel)


def test_replayed_terminal_queries_type_nothing_into_the_shell(lab: LabServer, page: Any) -> None:
    """Output holding terminal queries (cursor position, device attributes) replayed into a
    page types no answer into the shell: `cat -v` reading the terminal shows only what we type."""
    frames = PageSockets(page)
    queries = "printf 'Q\\033[6n\\033[c\\033[>c\\033]11;?\\007_%s\\n' $((6*7)); cat -v"
    headless_session(lab, "queries", queries, "_42")
    open_lab(page, lab)
    launch_panel(page)
    attach_from_menu(page, "queries")
    wait_tabs(page, 2)
    wait_visible_text(page, "_42")
    # The sentinel goes through the same path as any reply would: what cat -v echoes back.
    type_command(page, "typed_$((1+1))")
    wait_visible_text(page, "typed_$((1+1))")
    page.wait_for_function(
        r"""sel => (document.querySelector(sel).textContent.match(/typed_\$\(\(1\+1\)\)/g)
                  || []).length >= 2""",
        arg=f"{VISIBLE_TERM} .xterm-rows",
    )
    assert "^[" not in visible_text(page), visible_text(page)
    inputs = [m["data"] for log in frames.sockets for m in log.sent("terminal.input")]
    assert not any("\x1b" in data for data in inputs), inputs


@pytest.mark.parametrize("where", ["request", "answer"])
def test_a_proxy_that_strips_the_subprotocol(lab: LabServer, page: Any, where: str) -> None:
    """Behind a gateway that drops Sec-WebSocket-Protocol (from the request, or from the
    server's answer, which makes Chromium fail the handshake), the panel retries without the
    offer, works on protocol v1 and says so in the connection indicator's tooltip."""
    if where == "request":
        lab.proxy.strip_request_subprotocol = True
    else:
        lab.proxy.strip_answer_subprotocol = True
    open_lab(page, lab)
    launch_panel(page)
    run(page, "proxied", 21)
    assert protocol_version(page) == 1
    title = str(page.locator(STATUS).first.get_attribute("title"))
    assert "protocol v1 (no v2 negotiated" in title, title


def test_new_tab_with_a_shell_profile(lab_factory: Any, page: Any) -> None:
    """The "+ New ▾" menu lists the server's shell profiles (TermMuxApp.profiles) and starts a
    tab running the chosen one."""
    profile = {"name": "marked", "command": ["bash", "--norc"], "env": {"MARK": "profiled"}}
    server = lab_factory(config={"TermMuxApp": {"profiles": [profile]}})
    open_lab(page, server)
    launch_panel(page)
    page.locator(f"{PANEL} .jp-TermMux-newMenu").click()
    page.locator(".jp-TermMux-profileMenu .lm-Menu-item", has_text="default shell").wait_for()
    page.locator(".jp-TermMux-profileMenu .lm-Menu-item", has_text="marked").click()
    wait_tabs(page, 2)
    page.wait_for_selector(f"{VISIBLE_TERM}[data-state=attached]")
    type_command(page, "echo ${MARK}_$((20+1))")
    wait_visible_text(page, "profiled_21")


def test_a_kept_terminal_goes_on_after_jupyterlab_restarts(lab_factory: Any, page: Any) -> None:
    """With keep_terminals on, JupyterLab is restarted under an open panel: the tab reconnects,
    says the server restarted, and goes on with the same program (its count goes on, and the
    shell is the same process)."""
    lab = lab_factory(config={"TermMuxApp": {"keep_terminals": True}})
    try:
        open_lab(page, lab)
        launch_panel(page)
        require_v2(page)
        type_command(page, "echo pid_$$_$((2*2))")
        pid_line = re.search(r"pid_\d+_4", wait_for_text(page, r"pid_\d+_4")).group(0)  # type: ignore[union-attr]
        # One line a second: the restart's note stays on screen after the lines printed meanwhile.
        type_command(page, "for i in $(seq 1000 9999); do echo count_$i; sleep 1; done")
        wait_visible_text(page, "count_1002")
        restart_lab(lab)
        page.wait_for_selector(f"{PANEL}[data-status=connected]", timeout=60_000)
        wait_visible_text(page, "the server restarted and this terminal kept running")
        seen = max(int(n) for n in re.findall(r"count_(\d{4})", visible_text(page)))
        wait_visible_text(page, f"count_{seen + 2}")
        # JupyterLab's own "Server Connection Error" dialog from while the server was down
        for button in page.locator(".jp-Dialog .jp-Dialog-footer button").all()[-1:]:
            button.click()
        page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
        page.keyboard.press("Control+C")
        type_command(page, "clear")
        type_command(page, "echo pid_$$_$((2*2))")
        wait_visible_text(page, pid_line)  # the same shell: the same process
    finally:
        # A kept terminal outlives the server by design: end it, and with it its keeper.
        end_all_terminals(lab)


def end_all_terminals(server: LabServer) -> None:
    """DELETE every terminal of the server (a kept one's keeper ends with it)."""
    for name in server_terminals(server):
        end_terminal(server, name)


def wait_for_text(page: Any, pattern: str) -> str:
    """Wait until the visible terminal's text matches `pattern`; return the text."""
    page.wait_for_function(
        "([sel, rx]) => new RegExp(rx).test(document.querySelector(sel).textContent)",
        arg=[f"{VISIBLE_TERM} .xterm-rows", pattern],
    )
    return visible_text(page)
