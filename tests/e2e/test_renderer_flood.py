"""The 20 MB flood and the Ctrl-C browser tests, with each renderer, measured.

`renderer` is set in the user settings before the page loads. Headless Chromium with
`--disable-gpu` still gives WebGL2, through SwiftShader (software rendering on the CPU): the
"webgl" figures are that, not a GPU's. The screen is read from xterm's buffer (the WebGL renderer
keeps no text in the DOM). Figures go to tests/artifacts/renderer-flood.json and are printed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import LabServer
from .test_panel import PANEL, VISIBLE_TERM, launch_panel, open_lab, type_command

pytestmark = pytest.mark.browser

FLOOD_BYTES = 20_000_000
RESULTS: dict[str, Any] = {}
GL_RENDERER = """() => { const g = document.createElement('canvas').getContext('webgl2');
    if (!g) { return null; }
    const i = g.getExtension('WEBGL_debug_renderer_info');
    return i ? g.getParameter(i.UNMASKED_RENDERER_WEBGL) : g.getParameter(g.RENDERER); }"""


def set_renderer(lab: LabServer, renderer: str) -> None:
    """Write the user setting `renderer` (read when the page loads)."""
    folder = lab.root_dir.parent / "settings" / "jupyter-termmux"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "plugin.jupyterlab-settings").write_text(json.dumps({"renderer": renderer}))


@pytest.fixture(params=["dom", "webgl"])
def renderer_page(request: Any, new_page: Any) -> tuple[str, Any]:
    """The renderer to ask for, and a fresh page."""
    return request.param, new_page()


def start_watch(page: Any) -> None:
    """Record main-thread long tasks from now on."""
    page.evaluate(
        """() => { window.__lt = []; new PerformanceObserver(l => {
            for (const e of l.getEntries()) window.__lt.push(e.duration) })
            .observe({entryTypes: ['longtask']}) }"""
    )


def probe_until(page: Any, needle: str, timeout_s: float) -> list[float]:
    """Time trivial page round trips until the visible terminal shows `needle`."""
    probes: list[float] = []
    deadline = time.monotonic() + timeout_s
    check = """n => { const el = document.querySelector(SELECTOR);
        const t = el && el.termmuxTerminal;
        if (!t) { return false; }
        const b = t.buffer.active;
        for (let y = Math.max(0, b.length - t.rows - 2); y < b.length; y++) {
            const line = b.getLine(y);
            if (line && line.translateToString(true).includes(n)) { return true; }
        }
        return false; }""".replace("SELECTOR", json.dumps(VISIBLE_TERM))
    while time.monotonic() < deadline:
        t0 = time.monotonic()
        done = page.evaluate(check, needle)
        probes.append((time.monotonic() - t0) * 1000)
        if done:
            return probes
    raise AssertionError(f"{needle!r} not shown in {timeout_s} s")


def test_flood_and_ctrl_c_with_each_renderer(lab: LabServer, renderer_page: Any) -> None:
    """20 MB of output reaches the end on screen with the page responsive; then Ctrl-C stops an
    endless flood and the shell answers at once. Figures per renderer are recorded."""
    name, page = renderer_page
    set_renderer(lab, name)
    open_lab(page, lab)
    launch_panel(page)
    active = page.get_attribute(VISIBLE_TERM, "data-renderer")
    gl = page.evaluate(GL_RENDERER)
    start_watch(page)
    line = "0123456789abcdefghijklmnopqrstuvwxyz" * 2  # 72 characters + newline
    type_command(page, f"yes {line} | head -c {FLOOD_BYTES}; echo flood_$((4*5))")
    t0 = time.monotonic()
    probes = probe_until(page, "flood_20", 300)
    flood_s = time.monotonic() - t0
    tasks = page.evaluate("() => window.__lt")

    type_command(page, "yes ctrlc_$((2*8))")  # prints ctrlc_16; its echo never matches
    probe_until(page, "ctrlc_16", 120)
    t1 = time.monotonic()
    page.keyboard.press("Control+c")
    page.keyboard.type("echo stopped_$((3*3))")
    page.keyboard.press("Enter")
    probe_until(page, "stopped_9", 60)
    ctrl_c_s = time.monotonic() - t1

    probes.sort()
    figures = {
        "asked": name,
        "active_renderer": active,
        "gl": gl,
        "flood_mb": FLOOD_BYTES / 1e6,
        "flood_s": round(flood_s, 2),
        "flood_mb_per_s": round(FLOOD_BYTES / 1e6 / flood_s, 2),
        "probe_p50_ms": round(probes[len(probes) // 2], 1),
        "probe_max_ms": round(probes[-1], 1),
        "longtasks": len(tasks),
        "longtask_max_ms": round(max(tasks, default=0), 1),
        "ctrl_c_to_prompt_s": round(ctrl_c_s, 2),
    }
    RESULTS[name] = figures
    out = Path(__file__).resolve().parent.parent / "artifacts" / "renderer-flood.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(RESULTS, indent=2))
    print(f"\n{name}: {json.dumps(figures)}")
    assert page.locator(f"{PANEL}[data-status=connected]").count() == 1
    assert ctrl_c_s < 10
