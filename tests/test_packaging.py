"""Packaging: the wheel carries the prebuilt labextension and the server-extension config, so a
fresh environment with no Node.js gets both enabled by `pip install` alone."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from jupyter_termmux import __version__

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def run(cmd: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    """Run a command, fail with its output if it fails, return stdout+stderr without colours."""
    proc = subprocess.run(
        cmd,
        env=env,
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=600,
        check=False,
    )
    out = ANSI.sub("", proc.stdout.decode(errors="replace"))
    assert proc.returncode == 0, f"{cmd} failed:\n{out}"
    return out


def test_wheel_installs_and_enables_both_extensions_without_node(tmp_path: Path) -> None:
    """The wheel, installed with jupyterlab into a fresh venv whose PATH has no node/npm/jlpm,
    shows the labextension `enabled OK` and the server extension enabled and OK."""
    dist = tmp_path / "dist"
    # Uses the built labextension when present (the build hook's skip-if-exists), else builds it.
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", str(REPO), "-w", str(dist)])
    (wheel,) = dist.glob("jupyter_termmux-*.whl")
    size = wheel.stat().st_size
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "wheel-size.txt").write_text(f"{wheel.name} {size}\n")
    print(f"wheel {wheel.name}: {size} bytes")

    names = zipfile.ZipFile(wheel).namelist()
    data = f"jupyter_termmux-{__version__}.data/data/"
    share = data + "share/jupyter/labextensions/jupyter-termmux/"
    for needed in (
        share + "package.json",
        share + "install.json",
        share + "static/style.js",
        share + "schemas/jupyter-termmux/plugin.json",
        data + "etc/jupyter/jupyter_server_config.d/jupyter_termmux.json",
    ):
        assert needed in names, f"{needed} missing from the wheel"
    assert any(n.startswith(share + "static/remoteEntry.") for n in names)
    # A release wheel from a clean checkout is ~250 KB; here the build reuses the checkout's
    # unminified development build (~1 MB with source maps). The bound catches what must never
    # ship (node_modules, a second copy of the build), not minification.
    assert size < 2_000_000, "the wheel should be small (prebuilt JS is ~350 KB minified)"

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    vbin = venv / "bin"
    run([str(vbin / "python"), "-m", "pip", "install", "-q", str(wheel), "jupyterlab>=4.2,<5"])

    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": str(vbin),  # nothing else: no node, npm or jlpm
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "LANG": "C.UTF-8",
    }
    for tool in ("node", "npm", "jlpm", "yarn"):
        found = shutil.which(tool, path=env["PATH"])
        assert found is None or tool == "jlpm", f"{tool} on the test PATH: {found}"
    # jupyterlab ships a `jlpm` script, but it needs node, which is absent.
    assert shutil.which("node", path=env["PATH"]) is None

    labext = run([str(vbin / "jupyter"), "labextension", "list"], env=env)
    version = re.escape(__version__)
    assert re.search(rf"jupyter-termmux v{version} enabled\s+OK", labext), labext
    assert str(venv / "share" / "jupyter" / "labextensions") in labext, labext

    serverext = run([str(vbin / "jupyter"), "server", "extension", "list"], env=env)
    assert re.search(r"jupyter_termmux enabled", serverext), serverext
    assert re.search(rf"jupyter_termmux {version} OK", serverext), serverext
