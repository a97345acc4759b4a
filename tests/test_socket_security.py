"""Authentication, authorization, origin checks, the terminals switch and base_url for the socket."""

from __future__ import annotations

from typing import ClassVar

import pytest
import tornado.httpclient
import tornado.websocket
from conftest import SHELL, SOCKET_PATH
from jupyter_server.auth.authorizer import Authorizer
from tornado.httpclient import HTTPClientError
from traitlets.config import Config


async def _refused_code(connect_coro):
    """The HTTP status that refused the upgrade (fails if the socket opened)."""
    with pytest.raises(HTTPClientError) as e:
        ws = await connect_coro
        ws.close()
    return e.value.code


async def test_wrong_token_is_refused_before_upgrade(jp_ws_fetch):
    """A request without an authenticated user is refused with 403 before the upgrade."""
    code = await _refused_code(jp_ws_fetch(*SOCKET_PATH, headers={"Authorization": "token nope"}))
    assert code == 403


async def test_right_token_is_accepted(connect, make_terminal):
    """The same request with the server's token opens a working socket (the refusal above is not blanket)."""
    sid = await make_terminal("auth_ok")
    client = await connect()
    await client.attach(sid)
    await client.run(sid)


async def test_foreign_origin_is_refused(jp_fetch, jp_http_port, jp_base_url):
    """A cookie-authenticated (browser) upgrade from a foreign Origin is refused with 403; same-origin is accepted."""
    # Token-authenticated requests skip Jupyter's origin check by design (a page on another
    # origin cannot send the token), so this is the browser case: the login cookie.
    r = await jp_fetch("api", "status")
    cookie = "; ".join(c.split(";")[0] for c in r.headers.get_list("Set-Cookie"))
    assert cookie, "no login cookie"
    url = f"ws://127.0.0.1:{jp_http_port}{jp_base_url}api/termmux/socket"

    def request(origin):
        return tornado.httpclient.HTTPRequest(url, headers={"Cookie": cookie, "Origin": origin})

    code = await _refused_code(
        tornado.websocket.websocket_connect(request("http://evil.example.com"))
    )
    assert code == 403
    ws = await tornado.websocket.websocket_connect(request(f"http://127.0.0.1:{jp_http_port}"))
    ws.close()


class RecordingAuthorizer(Authorizer):
    """Allows exactly the (action, resource) pairs in ``permissions`` and records every question."""

    permissions: ClassVar[dict[str, list[str]]] = {}
    asked: ClassVar[list[tuple[str, str, str]]] = []

    def is_authorized(self, handler, user, action, resource):
        """Allow when both the action and the resource are permitted."""
        self.asked.append((handler.request.path, action, resource))
        return action in self.permissions.get("actions", []) and resource in self.permissions.get(
            "resources", []
        )


def _server_config(**server_app: object) -> Config:
    """A server with termmux and the terminals extension, plus ``ServerApp`` settings."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_termmux": True, "jupyter_server_terminals": True},
                "terminado_settings": {"shell_command": SHELL},
                **server_app,
            },
        }
    )


class TestAuthorization:
    """The socket is authorized on resource ``terminals`` with action ``execute``."""

    @pytest.fixture
    def jp_server_config(self):
        """A server whose authorizer is RecordingAuthorizer."""
        return _server_config(authorizer_class=RecordingAuthorizer)

    @pytest.mark.parametrize(
        "actions, resources, allowed",
        [
            (["execute"], ["terminals"], True),
            (["read", "write", "execute"], ["terminals", "kernels", "contents"], True),
            ([], [], False),
            (["read", "write"], ["terminals"], False),
            (["execute"], ["kernels"], False),
            (["read", "write", "execute"], ["kernels", "contents", "files"], False),
        ],
    )
    async def test_authorization_matrix(
        self, jp_serverapp, jp_ws_fetch, jp_root_dir, actions, resources, allowed
    ):
        """The upgrade succeeds exactly when execute on terminals is allowed, else 403."""
        authorizer = jp_serverapp.authorizer
        authorizer.permissions = {"actions": actions, "resources": resources}
        authorizer.asked = []
        if allowed:
            ws = await jp_ws_fetch(*SOCKET_PATH)
            ws.close()
        else:
            assert await _refused_code(jp_ws_fetch(*SOCKET_PATH)) == 403
        socket_questions = [(a, r) for p, a, r in authorizer.asked if p.endswith("termmux/socket")]
        assert ("execute", "terminals") in socket_questions, authorizer.asked

    async def test_allowed_socket_works(self, jp_serverapp, jp_ws_fetch, jp_root_dir, term_manager):
        """With only execute on terminals the socket attaches and streams a terminal."""
        from client import Client

        jp_serverapp.authorizer.permissions = {"actions": ["execute"], "resources": ["terminals"]}
        sid = term_manager.create(cwd=str(jp_root_dir))["name"]
        client = Client(await jp_ws_fetch(*SOCKET_PATH), "authz")
        try:
            await client.attach(sid)
            await client.run(sid)
        finally:
            await client.close()


class TestTerminalsDisabled:
    """With terminals disabled the socket is not served."""

    @pytest.fixture
    def jp_server_config(self):
        """A server with ServerApp.terminals_enabled = False."""
        return _server_config(terminals_enabled=False)

    async def test_socket_is_404(self, jp_ws_fetch, jp_fetch):
        """The socket URL answers 404 when ServerApp.terminals_enabled is False."""
        assert await _refused_code(jp_ws_fetch(*SOCKET_PATH)) == 404
        r = await jp_fetch("api", "status")  # the server itself is up
        assert r.code == 200


class TestBaseUrl:
    """Everything works under a base_url."""

    @pytest.fixture
    def jp_base_url(self):
        """A JupyterHub-style base_url."""
        return "/user/alice/"

    async def test_socket_under_base_url(
        self, connect, make_terminal, jp_http_port, jp_auth_header
    ):
        """Under /user/alice/ the socket attaches, streams and answers; without the prefix it is 404."""
        sid = await make_terminal("alice")
        client = await connect()
        await client.attach(sid)
        await client.run(sid)
        listed = await client.request({"type": "session.list"})
        assert [s["sessionId"] for s in listed["sessions"]] == [sid]

        req = tornado.httpclient.HTTPRequest(
            f"ws://127.0.0.1:{jp_http_port}/api/termmux/socket", headers=jp_auth_header
        )
        assert await _refused_code(tornado.websocket.websocket_connect(req)) == 404
