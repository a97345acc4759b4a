"""Shared terminals in the browser: the writer copies a read-only link from the tab's context
menu, a second browser context logged in as a user with only `read` opens it, watches the
writer's typing live at the writer's size, and cannot type into the shell.

Real `jupyter lab` with `TermMuxApp.allow_viewers` on and two users (a token per user, grants
per user, as in tests/test_socket_sharing.py), real shells, Debian's headless Chromium. Every
wait is for a sentinel on screen or in the DOM.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import LabServer, start_lab, stop_lab
from .test_panel import (
    PANEL,
    VISIBLE_TERM,
    launch_panel,
    require_v2,
    session_ids,
    type_command,
    visible_text,
    wait_visible_text,
)

pytestmark = pytest.mark.browser

TOKENS = {"writer": "tok-writer", "viewer": "tok-viewer"}

# Loaded by the server subprocess as its jupyter_server_config.py: token → user, and grants
# per user (the viewer may only read), with viewers allowed. Classes defined in the config file
# itself, so the server needs nothing from the test tree on its path.
SERVER_CONFIG = textwrap.dedent(
    f"""
    from jupyter_server.auth.authorizer import Authorizer
    from jupyter_server.auth.identity import IdentityProvider, User

    TOKENS = {TOKENS!r}
    GRANTS = {{"writer": {{"read", "write", "execute"}}, "viewer": {{"read"}}}}

    class TwoUsers(IdentityProvider):
        def get_user_token(self, handler):
            token = self.get_token(handler) or ""
            # JupyterLab's page sends the server's own token with every request (PageConfig);
            # the login cookie its ?token= login set says who the page's user is, as a hub's
            # login would. Without a cookie (the fixtures' readiness check) that token is the
            # writer's.
            if token == self.token and self.get_user_cookie(handler) is not None:
                return None
            names = {{t: u for u, t in TOKENS.items()}} | {{self.token: "writer"}}
            name = names.get(token)
            return User(username=name) if name is not None else None

    class GrantsByUser(Authorizer):
        def is_authorized(self, handler, user, action, resource):
            if resource != "terminals":
                return user.username in GRANTS  # the rest of JupyterLab works for both
            return action in GRANTS.get(user.username, set())

    c.ServerApp.identity_provider_class = TwoUsers
    c.ServerApp.authorizer_class = GrantsByUser
    c.TermMuxApp.allow_viewers = True
    """
)


@pytest.fixture
def shared_lab(tmp_path: Path) -> Iterator[LabServer]:
    """JupyterLab with viewers allowed and the two users."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.py").write_text(SERVER_CONFIG)
    server = start_lab(tmp_path)
    yield server
    stop_lab(server)


def test_viewer_opens_the_read_only_link_watches_live_and_cannot_type(
    shared_lab: LabServer, new_page: Any, artifacts: Path
) -> None:
    """The copied link opens the writer's session read-only in the viewer's page: the writer's
    output appears there live, the tab says why it takes no input, renders at the writer's
    size, and keys typed into it never reach the shell; the writer's tab counts the viewer, and
    its recording downloads as NAME.cast; through a flood (which views are sent as screens) the
    view ends on the writer's last lines."""
    writer = new_page()
    viewer = new_page()
    writer.goto(f"{shared_lab.url}lab?reset&token={TOKENS['writer']}")
    writer.wait_for_selector(".jp-Launcher")
    launch_panel(writer)
    require_v2(writer)
    (sid,) = session_ids(writer)
    type_command(writer, "echo ready_$((20+1))")
    wait_visible_text(writer, "ready_21")

    # The tab's context menu (tab bar) offers it too; here viewers are allowed.
    writer.locator(f"{PANEL} .lm-TabBar-tab").first.click(button="right")
    tab_menu = writer.locator(".lm-Menu").last.locator(".lm-Menu-itemLabel").all_inner_texts()
    assert {"Copy Read-Only Link", "Download Recording"} <= set(tab_menu), tab_menu
    writer.keyboard.press("Escape")
    writer.locator(f"{VISIBLE_TERM} .xterm-screen").click(button="right")
    writer.locator(".lm-Menu-itemLabel", has_text=re.compile("^Copy Read-Only Link$")).click()
    writer.wait_for_selector(f"{VISIBLE_TERM}[data-view-link]")
    link = writer.eval_on_selector(VISIBLE_TERM, "el => el.dataset.viewLink")
    assert link == f"{shared_lab.url}lab?termmux-view={sid}"

    # The viewer's own workspace (JupyterLab's workspaces are not per user), logged in by token.
    viewer_url = link.replace("/lab?", "/lab/workspaces/viewer?", 1)
    viewer.goto(f"{viewer_url}&token={TOKENS['viewer']}")
    view = f"{PANEL} .jp-TermMux-terminal[data-mode=view][data-session-id='{sid}']"
    viewer.wait_for_selector(f"{view}[data-state=attached]")
    # The server knows this page as the viewer (its hello grants only read): no "+ New".
    viewer.wait_for_selector(f"{PANEL} .jp-TermMux-toolbar[data-may-create=false]")
    note = viewer.locator(f"{view} .jp-TermMux-viewNote")
    assert note.inner_text() == "read-only view: you can watch, not type"
    wait_visible_text(viewer, "ready_21")  # the replay

    # Live: the writer types, the viewer sees it.
    type_command(writer, "echo live_$((6*7))")
    wait_visible_text(writer, "live_42")
    wait_visible_text(viewer, "live_42")

    # The view has the writer's size, not its own pane's.
    size = "el => [el.termmuxTerminal.rows, el.termmuxTerminal.cols]"
    writer_size = writer.eval_on_selector(VISIBLE_TERM, size)
    viewer.wait_for_function(
        "([sel, size]) => { const t = document.querySelector(sel).termmuxTerminal;"
        " return t.rows === size[0] && t.cols === size[1]; }",
        arg=[view, writer_size],
    )

    # The viewer types a command that would print a marker; it must never run.
    type_command(viewer, "echo VIEWER_$((3*11))")
    # Then the writer runs one more command: once its output is on both screens, anything
    # the viewer's keys had sent would have reached the shell before it.
    type_command(writer, "echo after_$((50+5))")
    wait_visible_text(writer, "after_55")
    wait_visible_text(viewer, "after_55")
    for page in (writer, viewer):
        text = visible_text(page)
        assert "VIEWER" not in text, text[-400:]
    shot = artifacts / "sharing-view.png"
    viewer.screenshot(path=str(shot))

    # Presence: the writer's tab counts the viewer (polled every 5 s while in sight).
    writer.wait_for_function(
        "([sel, mark]) => document.querySelector(sel)?.textContent.includes(mark)",
        arg=[f"{PANEL} .lm-TabBar-tab.lm-mod-current .lm-TabBar-tabLabel", "\N{EYE} 1"],
    )

    # The recording: NAME.cast, asciicast v2, the writer's output in its events.
    writer.locator(f"{VISIBLE_TERM} .xterm-screen").click(button="right")
    with writer.expect_download() as download:
        writer.locator(".lm-Menu-itemLabel", has_text=re.compile("^Download Recording$")).click()
    assert download.value.suggested_filename == f"{sid}.cast"
    lines = Path(download.value.path()).read_text().splitlines()
    assert json.loads(lines[0])["version"] == 2
    output = "".join(e[2] for e in map(json.loads, lines[1:]) if e[1] == "o")
    assert "live_42" in output and "after_55" in output

    # A flood: the view is sent the screen (it skips ahead) and ends on the writer's last
    # lines, with nothing typed by the skipped-over output.
    type_command(writer, "seq 1 300000; echo flood_$((9*9))")
    wait_visible_text(writer, "flood_81")
    wait_visible_text(viewer, "flood_81")
    tail = visible_text(viewer)
    assert "299999" in tail and "300000" in tail, tail[-400:]
