"""Regenerates the README's screenshot (docs/images/termmux-panel.png): a split view of three
terminals in a demo folder, in a real JupyterLab and headless Chromium. A script, not a test:
it checks nothing, it draws a picture.

    python -m tests.e2e.screenshots [OUT.png]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from .conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DOCS_IMAGES,
    PAGE_TIMEOUT_MS,
    LabServer,
    start_lab,
    stop_lab,
)
from .test_features import term_of, type_in, wait_text_in
from .test_panel import PANEL, launch_panel, open_lab, session_ids, wait_tabs

BUILD_PY = """\
import sys, time
for i in range(0, 101, 4):
    bar = "#" * (i // 4) + "." * (25 - i // 4)
    sys.stdout.write(f"\\rbuilding wheel [{bar}] {i:3d}%")
    sys.stdout.flush()
    time.sleep(0.02)
print("\\n\\u2714 built 42 files into dist/demo-0.1.0-py3-none-any.whl")
"""


def make_demo(root: Path) -> Path:
    """A demo folder with a small git history (a merged branch) and a build script."""
    demo = root / "demo"
    demo.mkdir()
    (demo / "build.py").write_text(BUILD_PY)
    env = {
        "GIT_AUTHOR_NAME": "Ada",
        "GIT_AUTHOR_EMAIL": "ada@example.org",
        "GIT_COMMITTER_NAME": "Ada",
        "GIT_COMMITTER_EMAIL": "ada@example.org",
        "GIT_AUTHOR_DATE": "2026-11-20T10:00:00Z",
        "GIT_COMMITTER_DATE": "2026-11-20T10:00:00Z",
        "HOME": str(root),
        "PATH": os.environ.get("PATH", ""),
    }

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=demo, env=env, check=True, capture_output=True)

    git("init", "-q", "-b", "main")
    steps = [
        ("README.md", "# demo\n\nA tiny package.\n", "Initial commit"),
        ("demo.py", "def hello():\n    return 'hi'\n", "Add hello()"),
    ]
    for name, text, message in steps:
        (demo / name).write_text(text)
        git("add", name)
        git("commit", "-q", "-m", message)
    git("checkout", "-q", "-b", "feature/cli")
    for name, message in [("cli.py", "Add a command line"), ("test_cli.py", "Test the CLI")]:
        (demo / name).write_text(f"# {message}\n")
        git("add", name)
        git("commit", "-q", "-m", message)
    git("checkout", "-q", "main")
    (demo / "CHANGES.md").write_text("0.1.0: first release\n")
    git("add", "CHANGES.md")
    git("commit", "-q", "-m", "Changelog for 0.1.0")
    git("merge", "-q", "--no-ff", "feature/cli", "-m", "Merge branch 'feature/cli'")
    git("tag", "v0.1.0")
    return demo


def split_view(lab: LabServer, page: Any, out: Path) -> None:
    """Take the README screenshot into ``out``: a split view in a demo folder (+ New starts in the folder the
    file browser shows): a build progress bar and `git log --graph` on the left, `top` and
    `less` on the right."""
    make_demo(lab.root_dir)
    open_lab(page, lab)
    page.locator('.jp-DirListing-item[data-isdir="true"]', has_text="demo").dblclick()
    page.wait_for_selector(".jp-BreadCrumbs >> text=demo")
    launch_panel(page)
    (left,) = session_ids(page)
    prompt = "PS1='demo$ '; clear"
    type_in(page, left, prompt)
    type_in(page, left, "python3 build.py && git log --graph --oneline --decorate --all")
    wait_text_in(page, left, "built 42 files")
    wait_text_in(page, left, "Initial commit")

    page.locator(f"{PANEL} .jp-TermMux-split-right").click()
    wait_tabs(page, 2)
    right = next(s for s in session_ids(page) if s != left)
    page.wait_for_selector(f"{term_of(right)}[data-state=attached]")
    type_in(page, right, f"{prompt}; top -d 2")
    wait_text_in(page, right, "load average")

    page.locator(f"{PANEL} .jp-TermMux-split-down").click()
    wait_tabs(page, 3)
    bottom = next(s for s in session_ids(page) if s not in (left, right))
    page.wait_for_selector(f"{term_of(bottom)}[data-state=attached]")
    type_in(page, bottom, f"{prompt}; less -N demo.py")
    wait_text_in(page, bottom, "return 'hi'")
    page.mouse.move(0, 0)
    page.screenshot(path=str(out))
    type_in(page, bottom, "q")


def main(argv: list[str]) -> int:
    """Start JupyterLab and Chromium, take the screenshot, stop both."""
    out = Path(argv[0]) if argv else DOCS_IMAGES / "termmux-panel.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        lab = start_lab(Path(tmp))
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 860})
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            split_view(lab, context.new_page(), out)
        finally:
            browser.close()
            stop_lab(lab)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
