"""The WebSocket endpoint: authenticate before the upgrade, then translate frames.

Modelled on jupyter_server's kernel and terminal sockets: 403 for an unknown user, an
unauthorized user (resource ``terminals``, as the server's own terminal socket) or a
foreign Origin (tornado calls ``check_origin`` before upgrading); 404 when the server has
no terminals. After the upgrade every frame goes to the socket's ``MuxConnection``.
"""

from __future__ import annotations

from typing import Any

from jupyter_core.utils import ensure_async
from jupyter_server.auth.decorator import ws_authenticated
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from tornado import web
from tornado.concurrent import Future
from tornado.websocket import WebSocketHandler

from .connection import MuxConnection
from .router import Router

AUTH_RESOURCE = "terminals"

#: Frames above this many times ``max_message_size`` are refused by tornado with close code
#: 1009 before they are read into memory; smaller oversized frames get an ``error`` reply.
HARD_LIMIT_FACTOR = 8


class MuxSocketHandler(WebSocketMixin, WebSocketHandler, JupyterHandler):
    """``{base_url}api/termmux/socket``: one socket for every terminal session of a client."""

    auth_resource = AUTH_RESOURCE
    connection: MuxConnection | None = None

    @property
    def router(self) -> Router:
        router: Router = self.settings["termmux_router"]
        return router

    @property
    def max_message_size(self) -> int:
        return HARD_LIMIT_FACTOR * self.router.limits.max_message_size

    def set_default_headers(self) -> None:
        """Skip JupyterHandler's HTML headers, which mean nothing to a WebSocket."""

    def get_compression_options(self) -> dict[str, Any] | None:
        return self.settings.get("websocket_compression_options")

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        """Authorize like the server's terminal socket, then upgrade."""
        if not self.router.available:
            raise web.HTTPError(404, "terminals are not enabled on this server")
        authorized = await ensure_async(
            self.authorizer.is_authorized(self, self.current_user, "execute", self.auth_resource)
        )
        if not authorized:
            raise web.HTTPError(403)
        await super().get(*args, **kwargs)

    def open(self, *args: Any, **kwargs: Any) -> None:
        """Start keep-alive pings and the connection."""
        super().open(*args, **kwargs)
        self.connection = MuxConnection(self.router, self, self.log, self.request.remote_ip or "")

    def on_message(self, message: str | bytes) -> None:
        """Hand the frame to the connection; it answers bad frames with ``error``."""
        if self.connection is not None:
            self.connection.handle_frame(message)

    def on_close(self) -> None:
        """Leave every session; the terminals keep running."""
        if self.connection is not None:
            self.connection.disconnect()
            self.connection = None

    def write_frame(self, frame: str) -> Future[None]:
        """Transport interface for the connection."""
        return self.write_message(frame)
