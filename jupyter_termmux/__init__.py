"""jupyter-termmux: many terminals over one multiplexed, flow-controlled WebSocket."""

from __future__ import annotations

from typing import Any

__version__ = "0.2.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyter-termmux"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import TermMuxApp

    return [{"module": "jupyter_termmux.app", "app": TermMuxApp}]
