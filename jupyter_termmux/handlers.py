"""The WebSocket endpoint: authenticate before the upgrade, then translate frames.

Modelled on jupyter_server's kernel and terminal sockets: 403 for an unknown user, an
unauthorized user (resource ``terminals``, as the server's own terminal socket: ``execute``,
or ``read`` when ``TermMuxApp.allow_viewers`` is on, see ``access.py``) or a foreign Origin
(tornado calls ``check_origin`` before upgrading); 404 when the server has no terminals. After
the upgrade every frame goes to the socket's ``MuxConnection``, with what its user may do.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.concurrent import Future
from tornado.websocket import WebSocketHandler, WebSocketProtocol, WebSocketProtocol13

from . import access, cast
from .access import Access
from .connection import MuxConnection
from .protocol import SUBPROTOCOLS, CloseCode
from .router import Router
from .terminals import TerminalError

AUTH_RESOURCE = access.RESOURCE

#: Frames above this many times ``max_message_size`` are refused by tornado with close code
#: 1009 before they are read into memory; smaller oversized frames get an ``error`` reply.
HARD_LIMIT_FACTOR = 8


class _Protocol(WebSocketProtocol13):
    """tornado's protocol, but a text frame that is not UTF-8 closes with 1007, not 1006."""

    def _handle_message(self, opcode: int, data: bytes) -> Future[None] | None:
        if opcode == 0x1 and not self._frame_compressed:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError:
                self.close(CloseCode.INVALID_PAYLOAD, "text frame is not valid UTF-8")
                return None
        return super()._handle_message(opcode, data)


class MuxSocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``{base_url}api/termmux/socket``: one socket for every terminal session of a client."""

    auth_resource = AUTH_RESOURCE
    connection: MuxConnection | None = None
    #: What the user may do, asked of the authorizer before the upgrade.
    access: Access = access.EVERYTHING

    @property
    def router(self) -> Router:
        router: Router = self.settings["termmux_router"]
        return router

    @property
    def allow_viewers(self) -> bool:
        return bool(self.settings.get("termmux_allow_viewers", False))

    @property
    def max_message_size(self) -> int:
        return HARD_LIMIT_FACTOR * self.router.limits.max_message_size

    def set_default_headers(self) -> None:
        """Skip JupyterHandler's HTML headers, which mean nothing to a WebSocket."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.settings.get("websocket_compression_options")

    def get_websocket_protocol(self) -> WebSocketProtocol | None:
        proto = super().get_websocket_protocol()
        if isinstance(proto, WebSocketProtocol13):
            return _Protocol(self, False, proto.params)
        return proto

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """Pick the newest protocol the client offers; none offered means v1 as before."""
        offered = [p for p in subprotocols if p in SUBPROTOCOLS]
        return max(offered, key=SUBPROTOCOLS.__getitem__) if offered else None

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize like the server's terminal socket, then upgrade."""
        if not self.router.available:
            raise web.HTTPError(404, "terminals are not enabled on this server")
        self.access = await self._ask_authorizer()
        if not access.may_open(self.access, self.allow_viewers):
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    async def _ask_authorizer(self) -> Access:
        """What the user may do on terminals. With viewers off, only ``execute`` is asked, as
        before, and it allows everything; with them on, each action is asked once, here, so
        the connection's checks need no awaiting."""
        if not self.allow_viewers:
            allowed = await self._may(access.EXECUTE)
            return access.EVERYTHING if allowed else Access(frozenset())
        return Access(frozenset([a for a in access.ACTIONS if await self._may(a)]))

    async def _may(self, action: str) -> bool:
        return bool(
            await ensure_async(
                self.authorizer.is_authorized(self, self.current_user, action, AUTH_RESOURCE)
            )
        )

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start keep-alive pings and the connection."""
        super().open(*args, **kwargs)
        # Frames go out back to back (an answer, then output): without this the second
        # waits ~40 ms for the client's delayed ACK (Nagle).
        self.set_nodelay(True)
        version = SUBPROTOCOLS.get(self.selected_subprotocol or "", 1)
        peer = self.request.remote_ip or ""
        self.connection = MuxConnection(
            self.router, self, self.log, version, peer, self.access, self.allow_viewers
        )

    def on_message(self, message: str | bytes) -> None:
        """Hand the frame to the connection; it answers bad frames with ``error``."""
        if self.connection is not None:
            self.connection.handle_frame(message)

    def on_close(self) -> None:
        """Leave every session; the terminals keep running."""
        if self.connection is not None:
            self.connection.disconnect(self.close_code)
            self.connection = None

    def write_frame(self, frame: str | bytes, binary: bool = False) -> Future[None]:
        """Transport interface for the connection."""
        return self.write_message(frame, binary=binary)


class CastHandler(APIHandler):
    """``GET {base_url}api/termmux/sessions/{name}/cast``: the session's history as an
    asciicast v2 recording (``cast.py``). Needs ``read`` on ``terminals``, as listing them does,
    whether or not viewers are allowed; 404 for a name no terminal has."""

    auth_resource = AUTH_RESOURCE

    @property
    def router(self) -> Router:
        router: Router = self.settings["termmux_router"]
        return router

    @web.authenticated
    @authorized
    async def get(self, name: str) -> None:
        """Send the recording as a download named after the session."""
        if not self.router.available:
            raise web.HTTPError(404, "terminals are not enabled on this server")
        try:
            pty = self.router.terminals.get(name)  # adopts it: its output is timed from now
        except TerminalError:
            raise web.HTTPError(404, f"no session {name!r}") from None
        body = "".join(cast.lines(pty.history, pty.clock(), time.time(), title=name))
        self.set_header(
            "Content-Disposition", f"attachment; filename*=UTF-8''{quote(name, safe='')}.cast"
        )
        self.set_header("Cache-Control", "no-store")  # output can hold secrets
        self.finish(body.encode("utf-8"), set_content_type=f"{cast.MEDIA_TYPE}; charset=utf-8")
