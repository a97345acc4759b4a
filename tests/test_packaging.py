"""Packaging: the wheel and the sdist carry the prebuilt labextension and the server-extension
config, so a fresh environment with no Node.js gets both enabled by `pip install` alone."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path
from typing import NamedTuple

import pytest
from packaging.version import Version

pytestmark = pytest.mark.packaging

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "tests" / "artifacts"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
JUPYTERLAB = "jupyterlab>=4.2,<5"
# Variables that would make a subprocess import this checkout instead of what it installed.
LEAKY = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")


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


def clean_env(**changes: str) -> dict[str, str]:
    """This process's environment without what points Python at this checkout, with changes."""
    env = {k: v for k, v in os.environ.items() if k not in LEAKY}
    env.update(changes)
    return env


def npm_version() -> str:
    """The version, from the one place it is written."""
    data = json.loads((REPO / "labextension" / "package.json").read_text(encoding="utf-8"))
    return str(data["version"])


def record(name: str, line: str) -> None:
    """Keep a measurement in tests/artifacts (gitignored) and print it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / name).write_text(line + "\n")
    print(line)


class Venv(NamedTuple):
    """A virtual environment, and the environment its Jupyter commands run in."""

    path: Path
    env: dict[str, str]

    def run(self, *cmd: str) -> str:
        """Run one of the venv's own programs in its Node-less environment."""
        return run([str(self.path / "bin" / cmd[0]), *cmd[1:]], env=self.env)

    def pip_install(self, *args: str) -> None:
        """pip install with PATH reduced to the venv (no node, npm or jlpm for a build from an
        sdist) but the rest of this process's environment (pip's cache and configuration)."""
        env = clean_env(PATH=self.env["PATH"])
        run([str(self.path / "bin" / "python"), "-m", "pip", "install", "-q", *args], env=env)


@pytest.fixture(scope="module")
def nodeless_venv(tmp_path_factory: pytest.TempPathFactory) -> Venv:
    """A fresh venv with JupyterLab whose PATH reaches no node, npm or jlpm. The wheel and the
    sdist are each installed into it alone: each test removes what was there first."""
    root = tmp_path_factory.mktemp("nodeless")
    venv = root / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env=clean_env())
    home = root / "home"
    home.mkdir()
    env = {
        "PATH": str(venv / "bin"),  # nothing else: no node, npm or jlpm
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_DATA_DIR": str(home / "data"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "LANG": "C.UTF-8",
    }
    v = Venv(venv, env)
    started = time.monotonic()
    v.pip_install(JUPYTERLAB)
    print(f"fresh venv with {JUPYTERLAB}: {time.monotonic() - started:.1f} s")
    # jupyterlab ships a `jlpm` script, but it needs node, which is absent.
    for tool in ("node", "npm", "yarn"):
        assert shutil.which(tool, path=env["PATH"]) is None, f"{tool} on the test PATH"
    return v


def install_and_check(venv: Venv, artifact: Path, version: str) -> None:
    """Install one wheel or sdist (with JupyterLab) into the venv in place of any earlier one,
    then check both halves are enabled and OK and the installed package knows its version."""
    run(
        [str(venv.path / "bin" / "python"), "-m", "pip", "uninstall", "-y", "jupyter-termmux"],
        env=clean_env(PATH=venv.env["PATH"]),
    )
    assert "jupyter-termmux" not in venv.run("jupyter", "labextension", "list")
    assert "jupyter_termmux" not in venv.run("jupyter", "server", "extension", "list")

    venv.pip_install(str(artifact), JUPYTERLAB)

    labext = venv.run("jupyter", "labextension", "list")
    assert re.search(rf"jupyter-termmux v{re.escape(npm_version())} enabled\s+OK", labext), labext
    assert str(venv.path / "share" / "jupyter" / "labextensions") in labext, labext

    serverext = venv.run("jupyter", "server", "extension", "list")
    assert re.search(r"jupyter_termmux enabled", serverext), serverext
    assert re.search(rf"jupyter_termmux {re.escape(version)} OK", serverext), serverext

    code = "import jupyter_termmux; print(jupyter_termmux.__version__)"
    assert venv.run("python", "-c", code).strip() == version


def test_wheel_installs_and_enables_both_extensions_without_node(
    tmp_path: Path, nodeless_venv: Venv
) -> None:
    """The wheel, installed with jupyterlab into a fresh venv whose PATH has no node/npm/jlpm,
    shows the labextension `enabled OK` and the server extension enabled and OK."""
    dist = tmp_path / "dist"
    started = time.monotonic()
    # Uses the built labextension when present (the build hook's skip-if-exists), else builds it.
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", str(REPO), "-w", str(dist)])
    built = time.monotonic()
    (wheel,) = dist.glob("jupyter_termmux-*.whl")
    size = wheel.stat().st_size
    record("wheel-size.txt", f"{wheel.name} {size}")

    version = wheel.name.split("-")[1]
    assert Version(version) == Version(npm_version()), "the wheel's version is package.json's"
    names = zipfile.ZipFile(wheel).namelist()
    data = f"jupyter_termmux-{version}.data/data/"
    share = data + "share/jupyter/labextensions/jupyter-termmux/"
    for needed in (
        share + "package.json",
        share + "install.json",
        share + "static/style.js",
        share + "schemas/jupyter-termmux/plugin.json",
        data + "etc/jupyter/jupyter_server_config.d/jupyter_termmux.json",
        "jupyter_termmux/_version.py",
        "jupyter_termmux/schema.json",  # the protocol's declaration, read at import
    ):
        assert needed in names, f"{needed} missing from the wheel"
    assert any(n.startswith(share + "static/remoteEntry.") for n in names)
    # A release wheel from a clean checkout is ~250 KB; here the build reuses the checkout's
    # unminified development build (~1 MB with source maps). The bound catches what must never
    # ship (node_modules, a second copy of the build), not minification.
    assert size < 2_000_000, "the wheel should be small (prebuilt JS is ~350 KB minified)"

    install_and_check(nodeless_venv, wheel, version)
    record(
        "wheel-times.txt",
        f"wheel: build {built - started:.1f} s, install and check {time.monotonic() - built:.1f} s",
    )


def test_sdist_from_a_clean_clone_installs_without_node(
    tmp_path: Path, nodeless_venv: Venv
) -> None:
    """`./dev.sh dist --sdist` (a clean clone of HEAD, built and checked with twine) makes an
    sdist that carries the built labextension and nothing untracked, and that sdist installs
    with jupyterlab into a venv whose PATH has no node/npm/jlpm, both halves enabled and OK."""
    dist = tmp_path / "dist"
    started = time.monotonic()
    # The release command itself; its build needs Node.js (this process's PATH has it).
    out = run(
        ["bash", str(REPO / "dev.sh"), "dist", "--sdist"],
        env=clean_env(VENV=str(tmp_path / "tools"), DIST_DIR=str(dist)),
    )
    built = time.monotonic()
    assert "PASSED" in out, out  # twine check --strict
    (sdist,) = dist.glob("jupyter_termmux-*.tar.gz")
    record("sdist-size.txt", f"{sdist.name} {sdist.stat().st_size}")

    with tarfile.open(sdist) as tar:
        base = tar.getnames()[0].split("/")[0]
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
        pkg_info = tar.extractfile(f"{base}/PKG-INFO")
        assert pkg_info is not None
        metadata = pkg_info.read().decode()
    (version,) = re.findall(r"^Version: (\S+)$", metadata, re.MULTILINE)
    assert Version(version) == Version(npm_version()), "the sdist's version is package.json's"
    built_ext = "jupyter_termmux/labextension/"
    for needed in (
        built_ext + "package.json",
        built_ext + "static/style.js",
        built_ext + "schemas/jupyter-termmux/plugin.json",
        "jupyter_termmux/_version.py",
        "labextension/package.json",
        "labextension/install.json",
        "jupyter-config/server-config/jupyter_termmux.json",
        "protocol/schema.json",
        "CHANGELOG.md",
    ):
        assert needed in names, f"{needed} missing from the sdist"
    assert any(n.startswith(built_ext + "static/remoteEntry.") for n in names)
    # A clean clone has no development build: the build hook made the production one.
    assert not [n for n in names if n.startswith(built_ext) and n.endswith(".map")]
    for unwanted in ("node_modules/", ".yarn/", "labextension/lib/", ".venv/", ".github/"):
        assert not [n for n in names if unwanted in n], f"{unwanted} in the sdist"

    install_and_check(nodeless_venv, sdist, version)
    record(
        "sdist-times.txt",
        f"sdist: clone, build, twine {built - started:.1f} s, "
        f"install and check {time.monotonic() - built:.1f} s",
    )
