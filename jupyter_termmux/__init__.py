"""jupyter-termmux: many terminals over one multiplexed, flow-controlled WebSocket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _version() -> str:
    """The version the build wrote to _version.py, else (a checkout never built) package.json's."""
    try:
        from ._version import __version__ as built
    except ImportError:
        # labextension/package.json is the one place the version is written (pyproject.toml,
        # [tool.hatch.version]); every build, editable installs included, writes _version.py.
        package_json = Path(__file__).resolve().parent.parent / "labextension" / "package.json"
        return str(json.loads(package_json.read_text(encoding="utf-8"))["version"])
    return str(built)


__version__ = _version()


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-termmux"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import TermMuxApp

    return [{"module": "jupyter_termmux.app", "app": TermMuxApp}]
