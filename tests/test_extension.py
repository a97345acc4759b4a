"""The extension's wiring: discovery, the auto-enable file, and jupyter_server's auth audit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import tornado.httpclient
from jupyter_server.serverapp import ServerWebApplication

import jupyter_termmux
from jupyter_termmux.app import TermMuxApp
from jupyter_termmux.handlers import CastHandler, MuxSocketHandler

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
    """jupyter_server's audit finds no unauthenticated method on the socket handler, nor on
    the recording endpoint."""
    assert (
        ServerWebApplication._check_handler_auth(None, "/api/termmux/socket", MuxSocketHandler)
        == []
    )  # type: ignore[arg-type]
    cast_path = "/api/termmux/sessions/([^/]+)/cast"
    assert ServerWebApplication._check_handler_auth(None, cast_path, CastHandler) == []  # type: ignore[arg-type]

    class Undecorated(MuxSocketHandler):
        async def get(self, *args: Any, **kwargs: Any) -> None:
            pass

    # The audit is real: an undecorated get() is reported.
    assert ServerWebApplication._check_handler_auth(None, "/x", Undecorated)  # type: ignore[arg-type]


def test_limits_are_documented_traits() -> None:
    """Every limit (and the viewers switch) is a configurable trait with a help text, and the
    README lists it."""
    readme = (ROOT / "README.md").read_text()
    own = TermMuxApp.class_own_traits(config=True)
    assert set(own) == {
        "allow_viewers",
        "keep_terminals",
        "profiles",
        "window",
        "socket_window",
        "resume_hold",
        "history_limit",
        "max_message_size",
        "max_sessions_per_socket",
        "slow_subscriber_timeout",
    }
    for name, trait in own.items():
        assert trait.help, name
        assert f"`{name}`" in readme, name


class TestInvalidConfiguration:
    """A server started with wrong limits: the extension loads, says what is wrong in one
    line, serves no socket, and the server shuts down cleanly."""

    @pytest.fixture
    def termmux_config(self) -> dict[str, Any]:
        return {"history_limit": 0, "window": -1, "slow_subscriber_timeout": -2.0}

    async def test_one_error_line_no_socket_no_exception(
        self, capfd: pytest.CaptureFixture[str], jp_serverapp: Any, jp_fetch: Any
    ) -> None:
        """Every wrong trait is named in one error line; the socket is not served (404);
        nothing raised while loading (the server answers), and the fixture's shutdown runs
        ``stop_extension`` on it."""
        # capfd is set up before the server (the argument order), so it saw the extension load.
        log = capfd.readouterr().err
        lines = [line for line in log.splitlines() if "invalid configuration" in line]
        (line,) = lines
        assert _termmux_app(jp_serverapp).router is None
        for name in ("history_limit", "window", "slow_subscriber_timeout"):
            assert f"TermMuxApp.{name}" in line, line
        assert "termmux_router" not in jp_serverapp.web_app.settings
        with pytest.raises(tornado.httpclient.HTTPClientError) as refused:
            await jp_fetch("api", "termmux", "socket")
        assert refused.value.code == 404
        listed = await jp_fetch("api", "terminals")  # the rest of the server runs
        assert listed.code == 200
        await _termmux_app(jp_serverapp).stop_extension()  # no router: nothing to stop, no error


def _termmux_app(serverapp: Any) -> TermMuxApp:
    for ext in serverapp.extension_manager.extension_apps.get("jupyter_termmux", ()):
        if isinstance(ext, TermMuxApp):
            return ext
    raise AssertionError("the termmux extension app was not loaded")
