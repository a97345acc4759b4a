"""The panel held to JupyterLab's conventions, in a real JupyterLab with real shells and Chromium:
keys that leave a terminal follow the user's key bindings, every command is in the palette and the
context menus, the `inherit` theme follows Lab's theme, screen-reader mode, OSC 8 links that ask
before opening.

Every wait is for a sentinel the shell computes (`echo x_$((6*7))` prints `x_42`, the typed line
never matches) or a DOM state, never a fixed time.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from .conftest import LabServer, start_lab, stop_lab
from .test_panel import (
    PANEL,
    TAB,
    VISIBLE_TERM,
    attach_from_menu,
    launch_panel,
    new_tab,
    open_lab,
    type_command,
    wait_tabs,
    wait_visible_text,
)

pytestmark = pytest.mark.browser

#: The app on `window.jupyterapp`, to change a key binding live from the page.
EXPOSE_APP = {"LabApp": {"expose_app_in_browser": True}}


def user_settings(server: LabServer, plugin: str, values: dict[str, Any]) -> None:
    """Write a plugin's user settings (as the Settings Editor saves them) before the page loads."""
    package, name = plugin.split(":")
    folder = server.root_dir.parent / "settings" / package
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.jupyterlab-settings").write_text(json.dumps(values))


def wait_current_tab(page: Any, index: int) -> None:
    """Wait until tab `index` (1-based) of the panel's tab bar is the current one."""
    page.wait_for_selector(f"{TAB}:nth-child({index}).lm-mod-current")


def test_rebinding_a_shortcut_moves_the_key_that_leaves_the_terminal(
    lab_factory: Any, page: Any
) -> None:
    """With "next tab" rebound from Ctrl+Alt+PageDown to Ctrl+Alt+N in the user's shortcut
    settings, Ctrl+Alt+N switches tabs from a focused terminal and Ctrl+Alt+PageDown reaches
    the program (`cat -v` shows its escape sequence); a binding added live moves it back."""
    server = lab_factory(config=EXPOSE_APP)
    panel = ".jp-TermMux-panel"
    user_settings(
        server,
        "@jupyterlab/shortcuts-extension:shortcuts",
        {
            "shortcuts": [
                {
                    "command": "termmux:next-tab",
                    "keys": ["Ctrl Alt PageDown"],
                    "selector": panel,
                    "disabled": True,
                },
                {"command": "termmux:next-tab", "keys": ["Ctrl Alt N"], "selector": panel},
            ]
        },
    )
    open_lab(page, server)
    launch_panel(page)
    new_tab(page)
    wait_current_tab(page, 2)
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Alt+n")
    wait_current_tab(page, 1)

    type_command(page, "cat -v")
    page.keyboard.press("Control+Alt+PageDown")
    page.keyboard.type("_old$")
    page.keyboard.press("Enter")
    wait_visible_text(page, "^[[6;7~_old$")
    assert page.locator(f"{TAB}:nth-child(1).lm-mod-current").count() == 1
    page.keyboard.press("Control+c")

    # Bound again while the page runs: the key leaves the terminal from now on.
    page.evaluate(
        """() => window.jupyterapp.commands.addKeyBinding({
            command: 'termmux:next-tab', keys: ['Ctrl Alt PageDown'],
            selector: '.jp-TermMux-panel'})"""
    )
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Alt+PageDown")
    wait_current_tab(page, 2)


def test_palette_lists_every_command_with_its_shortcut(lab: LabServer, page: Any) -> None:
    """The palette finds "split" under Terminal Multiplexer, shows the split's shortcut, and
    running it splits the panel; pane focus, zoom and sharing are there too."""
    open_lab(page, lab)
    launch_panel(page)
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".lm-CommandPalette-input")
    box.fill("split")
    item = page.locator(".lm-CommandPalette-item", has_text="Split Terminal Right").first
    item.wait_for()
    assert item.locator(".lm-CommandPalette-itemShortcut").inner_text() == "Ctrl+Alt+\\"
    headers = page.locator(".lm-CommandPalette-header").all_inner_texts()
    assert any("Terminal Multiplexer" in h for h in headers), headers
    for query, label in [
        ("focus terminal pane", "Focus Terminal Pane Left"),
        ("terminal font", "Terminal Font Larger"),
        ("read-only", "Copy Read-Only Link"),
        ("recording", "Download Recording"),
        ("open terminal here", "Open Terminal Here"),
        ("toggle terminal", "Toggle Terminal Panel"),
        ("select all", "Select All"),
    ]:
        box.fill(query)
        page.locator(".lm-CommandPalette-item", has_text=label).first.wait_for()
    box.fill("split")
    item.click()
    wait_tabs(page, 2)
    page.wait_for_selector(f"{PANEL} .jp-TermMux-tabs.jp-TermMux-split")


def test_tab_context_menu_acts_on_the_tab_clicked(lab: LabServer, page: Any) -> None:
    """Right-clicking a tab that is not the current one lists rename, close, shut down and the
    sharing items; Rename renames that tab; Copy Read-Only Link says viewers are disabled."""
    open_lab(page, lab)
    launch_panel(page)
    new_tab(page)
    wait_current_tab(page, 2)
    page.locator(TAB).nth(0).click(button="right")
    menu = page.locator(".lm-Menu").last
    labels = menu.locator(".lm-Menu-itemLabel").all_inner_texts()
    for expected in [
        "Rename Terminal Tab…",
        "Close Terminal Tab (Keep Session Running)",
        "Shut Down Terminal Session…",
        "Copy Read-Only Link (Disabled on This Server)",
        "Download Recording",
    ]:
        assert expected in labels, labels
    menu.locator(".lm-Menu-itemLabel", has_text="Rename Terminal Tab…").click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator("input").fill("renamed_first")
    dialog.locator(".jp-mod-accept").click()
    page.wait_for_function(
        "sel => document.querySelector(sel).textContent === 'renamed_first'",
        arg=f"{TAB}:nth-child(1) .lm-TabBar-tabLabel",
    )
    assert "renamed_first" not in page.locator(f"{TAB}:nth-child(2)").inner_text()

    page.locator(TAB).nth(1).click(button="right")
    page.locator(".lm-Menu-itemLabel", has_text="Copy Read-Only Link").click()
    page.locator(".Toastify__toast", has_text="Read-only links are disabled").wait_for()


def terminal_background(page: Any) -> str:
    """Computed background colour of the visible xterm viewport."""
    return str(
        page.eval_on_selector(
            f"{VISIBLE_TERM} .xterm-viewport", "e => getComputedStyle(e).backgroundColor"
        )
    )


def css_colour(page: Any, variable: str) -> str:
    """The computed colour of a JupyterLab CSS variable (through a probe element)."""
    return str(
        page.evaluate(
            """v => { const p = document.createElement('div');
                p.style.backgroundColor = `var(${v})`; document.body.appendChild(p);
                const c = getComputedStyle(p).backgroundColor; p.remove(); return c; }""",
            variable,
        )
    )


def test_inherit_theme_follows_a_lab_theme_switch(lab: LabServer, page: Any) -> None:
    """With the default `inherit` theme the terminal's background is Lab's --jp-layout-color0,
    and switching to JupyterLab Dark re-reads it live."""
    open_lab(page, lab)
    launch_panel(page)
    light = terminal_background(page)
    assert light == css_colour(page, "--jp-layout-color0")
    page.locator(f"{VISIBLE_TERM} .xterm-screen").click()
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").fill("Use Theme: JupyterLab Dark")
    page.locator(".lm-CommandPalette-item", has_text="Use Theme: JupyterLab Dark").first.click()
    page.wait_for_function(
        "([sel, before]) => getComputedStyle(document.querySelector(sel)).backgroundColor !== before",
        arg=[f"{VISIBLE_TERM} .xterm-viewport", light],
    )
    assert terminal_background(page) == css_colour(page, "--jp-layout-color0")
    assert terminal_background(page) != "rgb(0, 0, 0)"  # Lab's colour, not the fixed palette


def test_screen_reader_mode_mirrors_the_terminal_text(lab: LabServer, page: Any) -> None:
    """With screenReaderMode on, xterm's accessibility tree holds the terminal's text."""
    user_settings(lab, "jupyter-termmux:plugin", {"screenReaderMode": True})
    open_lab(page, lab)
    launch_panel(page)
    type_command(page, "echo spoken_$((6*7))")
    page.wait_for_function(
        "sel => document.querySelector(sel)?.textContent.includes('spoken_42')",
        arg=f"{VISIBLE_TERM} .xterm-accessibility-tree",
    )
    labels = page.eval_on_selector_all(
        f"{PANEL} .jp-TermMux-toolbar button", "els => els.map(e => e.getAttribute('aria-label'))"
    )
    assert labels and all(labels), labels


def test_osc8_link_asks_before_opening(lab: LabServer, page: Any) -> None:
    """A hyperlink printed with OSC 8 shows a confirmation with its address when clicked;
    Cancel opens nothing, Open opens it in a new browser tab."""
    open_lab(page, lab)
    launch_panel(page)
    target = f"http://127.0.0.1:{lab.proxy.port}/osc8-target"
    type_command(page, f"printf '\\e]8;;{target}\\e\\\\%s\\e]8;;\\e\\\\\\n' osc8_$((6*7))")
    wait_visible_text(page, "osc8_42")
    link = page.locator(f"{VISIBLE_TERM} .xterm-rows span", has_text="osc8_42").last
    box = link.bounding_box()
    assert box is not None
    x, y = box["x"] + 5, box["y"] + box["height"] / 2

    def click_link() -> Any:
        page.mouse.move(x, y - 20)
        page.mouse.move(x, y)
        page.mouse.click(x, y)
        dialog = page.locator(".jp-Dialog")
        dialog.wait_for()
        return dialog

    dialog = click_link()
    assert target in dialog.inner_text()
    dialog.locator(".jp-mod-reject").click()
    dialog.wait_for(state="detached")
    assert len(page.context.pages) == 1
    dialog = click_link()
    with page.context.expect_page() as opened:
        dialog.locator(".jp-mod-accept").click()
    assert opened.value.url.rstrip("/") == target


# The server's config for a user who may open and type into terminals but not start or shut
# them down (no `write` on terminals). The test's own REST calls carry a header that may.
NO_CREATE_CONFIG = """
from jupyter_server.auth.authorizer import Authorizer

class NoCreate(Authorizer):
    def is_authorized(self, handler, user, action, resource):
        admin = handler.request.headers.get("X-Termmux-Test") == "admin"
        return admin or not (resource == "terminals" and action == "write")

c.ServerApp.authorizer_class = NoCreate
c.TermMuxApp.allow_viewers = True
"""


def test_a_user_who_may_not_create_sees_no_create_controls(tmp_path: Path, browser: Any) -> None:
    """Without `write` on terminals the panel opens empty, its toolbar has no "+ New" and no
    split buttons, the tab bar no "+", and "New Terminal Tab" is disabled in the palette; a
    running terminal still opens through Attach and takes typing."""
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.py").write_text(NO_CREATE_CONFIG)
    server = start_lab(tmp_path)
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        url = f"http://127.0.0.1:{server.port}{server.base_url}api/terminals"
        request = urllib.request.Request(
            url,
            method="POST",
            data=b"{}",
            headers={"Authorization": f"token {server.token}", "X-Termmux-Test": "admin"},
        )
        with urllib.request.urlopen(request, timeout=10) as resp:
            sid = json.loads(resp.read())["name"]
        page = context.new_page()
        page.set_default_timeout(60_000)
        open_lab(page, server)
        page.locator(".jp-LauncherCard", has_text=re.compile(r"^Terminals$")).first.click()
        page.wait_for_selector(f"{PANEL} .jp-TermMux-toolbar[data-may-create=false]")
        for control in (".jp-TermMux-new", ".jp-TermMux-split-right", ".jp-TermMux-split-down"):
            assert page.locator(f"{PANEL} {control}").is_hidden(), control
        assert page.locator(TAB).count() == 0
        attach_from_menu(page, sid)
        wait_tabs(page, 1)
        assert page.locator(f"{PANEL} .lm-TabBar-addButton").first.is_hidden()
        type_command(page, "echo typed_$((6*7))")
        wait_visible_text(page, "typed_42")
        page.keyboard.press("Control+Shift+C")
        page.locator(".lm-CommandPalette-input").fill("new terminal tab")
        # JupyterLab's palette keeps a disabled command's item, hidden.
        item = page.locator(".lm-CommandPalette-item[data-command='termmux:new-tab']").first
        item.wait_for(state="attached")
        assert "lm-mod-disabled" in (item.get_attribute("class") or "")
    finally:
        context.close()
        stop_lab(server)
