"""The extension's wiring: discovery, the auto-enable file, and jupyter_server's auth audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jupyter_server.serverapp import ServerWebApplication

import jupyter_termmux
from jupyter_termmux.app import TermMuxApp
from jupyter_termmux.handlers import MuxSocketHandler

ROOT = Path(__file__).parent.parent


def test_server_extension_point() -> None:
    """jupyter_server finds the ExtensionApp through the package's extension points."""
    (point,) = jupyter_termmux._jupyter_server_extension_points()
    assert point["app"] is TermMuxApp and TermMuxApp.name == "jupyter_termmux"


def test_auto_enable_file() -> None:
    """The file installed into jupyter_server_config.d enables the extension."""
    config = json.loads((ROOT / "jupyter-config/server-config/jupyter_termmux.json").read_text())
    assert config["ServerApp"]["jpserver_extensions"]["jupyter_termmux"] is True


def test_socket_handler_passes_the_servers_auth_audit() -> None:
    """jupyter_server's audit finds no unauthenticated method on the socket handler."""
    assert (
        ServerWebApplication._check_handler_auth(None, "/api/termmux/socket", MuxSocketHandler)
        == []
    )  # type: ignore[arg-type]

    class Undecorated(MuxSocketHandler):
        async def get(self, *args: Any, **kwargs: Any) -> None:
            pass

    # The audit is real: an undecorated get() is reported.
    assert ServerWebApplication._check_handler_auth(None, "/x", Undecorated)  # type: ignore[arg-type]


def test_limits_are_documented_traits() -> None:
    """Every limit is a configurable trait with a help text, and the README lists it."""
    readme = (ROOT / "README.md").read_text()
    own = TermMuxApp.class_own_traits(config=True)
    assert set(own) == {
        "profiles",
        "window",
        "socket_window",
        "typing_window",
        "typing_hold",
        "ack_bytes",
        "resume_hold",
        "lag_hold",
        "history_limit",
        "max_message_size",
        "max_sessions_per_socket",
        "high_watermark",
        "low_watermark",
        "coalesce_delay",
        "slow_subscriber_timeout",
    }
    for name, trait in own.items():
        assert trait.help, name
        assert f"`{name}`" in readme, name
