"""Server extension wiring: the configurable limits, the router, the handler."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Float, Int, validate

from .handlers import MuxSocketHandler
from .protocol import CloseCode
from .router import Limits, Router


class TermMuxApp(ExtensionApp):
    """Many terminals over one multiplexed, flow-controlled WebSocket."""

    name = "jupyter_termmux"
    load_other_extensions = True

    history_limit = Int(
        100_000,
        config=True,
        help="""Bytes of each session's most recent output kept for replay when a socket
        attaches late (also what JupyterLab's classic terminal replays). Replaces terminado's
        buffer of the last 1000 chunks, which can hold 64 MB.""",
    )
    max_message_size = Int(
        1024 * 1024,
        config=True,
        help="""Largest client frame, in bytes. A larger frame is answered with an error
        'message-too-large' and the socket stays open; frames over 8 times this are refused
        by tornado with close code 1009 before being read.""",
    )
    max_sessions_per_socket = Int(
        128,
        config=True,
        help="Most sessions one socket may attach at once (error 'too-many-sessions').",
    )
    high_watermark = Int(
        1024 * 1024,
        config=True,
        help="""Unsent bytes queued for one socket above which the PTYs feeding it stop being
        read (their programs block on output, nothing is dropped).""",
    )
    low_watermark = Int(
        256 * 1024,
        config=True,
        help="Unsent bytes at or below which a paused socket's PTYs are read again.",
    )
    coalesce_delay = Float(
        0.004,
        config=True,
        help="""Seconds a streaming session's output may wait to be merged into fewer, larger
        frames. Output after an idle period, output under 1 KB and output within 50 ms of
        input to the session are always sent at once.""",
    )
    slow_subscriber_timeout = Float(
        5.0,
        config=True,
        help="""Seconds a congested socket may hold a session paused while another client of
        that session is ready; then the slow socket is detached from the session
        (session.detached with reason 'slow') so the others get full speed again.""",
    )

    @validate("low_watermark")
    def _valid_low(self, proposal: dict[str, Any]) -> int:
        value: int = proposal["value"]
        if not 0 <= value < self.high_watermark:
            raise ValueError("low_watermark must be >= 0 and below high_watermark")
        return value

    def limits(self) -> Limits:
        """The traits as plain values for the router and connections."""
        return Limits(
            history_limit=self.history_limit,
            max_message_size=self.max_message_size,
            max_sessions_per_socket=self.max_sessions_per_socket,
            high_watermark=self.high_watermark,
            low_watermark=min(self.low_watermark, self.high_watermark - 1),
            coalesce_delay=self.coalesce_delay,
            slow_subscriber_timeout=self.slow_subscriber_timeout,
        )

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        self.router = Router(self.serverapp.web_app.settings, self.limits(), self.log)
        self.settings["termmux_router"] = self.router

    def initialize_handlers(self) -> None:
        assert self.serverapp is not None
        if not self.serverapp.terminals_enabled:
            self.log.info(
                "termmux: terminals are disabled (ServerApp.terminals_enabled); not serving"
            )
            return
        self.handlers.append((r"/api/termmux/socket", MuxSocketHandler))

    async def stop_extension(self) -> None:
        """Close every socket with 1001 so clients know to reconnect later."""
        for client in list(self.router.clients()):
            client.close(CloseCode.GOING_AWAY, "server shutting down")
        self.router.shutdown()
