"""Server extension wiring: the configurable limits, the router, the handler."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Int, List

from .flow import Limits
from .handlers import MuxSocketHandler
from .profiles import parse as parse_profiles
from .protocol import CloseCode
from .ptyio import history_room
from .router import Router
from .terminals import Terminals


class TermMuxApp(ExtensionApp):
    """Many terminals over one multiplexed, flow-controlled WebSocket."""

    name = "jupyter_termmux"
    load_other_extensions = True

    history_limit = Int(
        512 * 1024,
        config=True,
        help="""Bytes of each session's most recent output kept for replay, resume and
        catch-up (also what JupyterLab's classic terminal replays). Replaces terminado's buffer
        of the last 1000 chunks, which can hold 64 MB. The v2 window is capped at this less
        about 68 KiB (one read and the trimming slack).""",
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
        that session is ready; then a slow v1 socket is detached from the session
        (session.detached with reason 'slow'), and a v2 subscriber that has stayed behind that
        long (lag_hold) stops holding it, so the others get full speed again.""",
    )

    window = Int(
        256 * 1024,
        config=True,
        help="""Protocol v2: unacknowledged output bytes one session may have in flight to one
        client (credit returned as xterm.js parses). A session's PTY is read while one of its
        subscribers has less than this outstanding.""",
    )
    socket_window = Int(
        256 * 1024,
        config=True,
        help="""Protocol v2: unacknowledged bulk output bytes one socket may have in flight, all
        sessions together, so that an echo never waits behind more than this much flood.""",
    )
    typing_window = Int(
        32 * 1024,
        config=True,
        help="""Protocol v2: while someone types into a quiet session of a socket (input within
        typing_hold seconds), the other sessions' bulk output on that socket is held to this
        many bytes in flight, so each echo waits behind about a millisecond of flood. A session
        typed into that streams itself, and a session with other subscribers, keep
        socket_window. (Measured, 8 interleaved runs each: 32 KiB kept echo p99 at 2.7-3.8 ms
        under 3 and 15 floods where 48 KiB gave 3.6-4.9 ms, for about 7 % less flood output
        while someone types.)""",
    )
    typing_hold = Float(
        2.0,
        config=True,
        help="""Protocol v2: seconds after the last input on a socket during which
        typing_window applies. 0 turns it off.""",
    )
    ack_bytes = Int(
        16 * 1024,
        config=True,
        help="Protocol v2: the client acknowledges output in batches of this many bytes.",
    )
    resume_hold = Float(
        5.0,
        config=True,
        help="""Protocol v2: seconds a socket that dropped without detaching keeps a reservation
        on each of its sessions: the PTY is not read past what history can still hold from that
        client's last delivered byte, so a client that comes back in time loses nothing.
        0 turns it off.""",
    )

    lag_hold = Float(
        0.1,
        config=True,
        help="""Protocol v2: seconds a subscriber that lags behind the other clients of a shared
        session may hold its PTY after it last acknowledged output, before history would move
        past it: a client that is slower but still taking its output is not truncated, and one
        that stops acknowledging holds the others up for at most this long, and one that
        stays behind for slow_subscriber_timeout no longer holds them. 0 turns it off.""",
    )

    profiles = List(
        Dict(),
        config=True,
        help="""Named ways to start a terminal besides the server's own shell (offered in the
        panel's "+ New" menu and launcher): a list of dicts with 'name', 'command' (a command line
        or a list of strings), and optional 'env' (dict) and 'cwd' (relative to the root dir).
        Example: [{"name": "python", "command": ["python3", "-q"]},
        {"name": "zsh", "command": "zsh -l", "env": {"LANG": "C.UTF-8"}}]""",
    )

    def limits(self) -> Limits:
        """The traits as plain values for the router and connections."""
        window = min(self.window, history_room(self.history_limit))
        return Limits(
            history_limit=self.history_limit,
            max_message_size=self.max_message_size,
            max_sessions_per_socket=self.max_sessions_per_socket,
            high_watermark=self.high_watermark,
            low_watermark=self.low_watermark,
            coalesce_delay=self.coalesce_delay,
            slow_subscriber_timeout=self.slow_subscriber_timeout,
            # A subscriber's backlog must fit in history, or a lone one would be truncated.
            window=window,
            socket_window=self.socket_window,
            typing_window=self.typing_window,
            typing_hold=self.typing_hold,
            ack_bytes=min(self.ack_bytes, max(1, window // 2)),
            resume_hold=self.resume_hold,
            lag_hold=self.lag_hold,
        )

    def config_errors(self) -> list[str]:
        """What is wrong with the configured limits (empty when they are sane)."""
        errors = []
        positive = (
            "history_limit",
            "max_message_size",
            "max_sessions_per_socket",
            "high_watermark",
            "window",
            "socket_window",
            "typing_window",
            "ack_bytes",
        )
        errors += [f"{name} must be positive" for name in positive if getattr(self, name) <= 0]
        if not 0 <= self.low_watermark < self.high_watermark:
            errors.append("low_watermark must be >= 0 and below high_watermark")
        for name in (
            "coalesce_delay",
            "slow_subscriber_timeout",
            "resume_hold",
            "typing_hold",
            "lag_hold",
        ):
            if getattr(self, name) < 0:
                errors.append(f"{name} must not be negative")
        try:
            parse_profiles(self.profiles)
        except ValueError as e:
            errors.append(str(e))
        return errors

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        self.invalid = self.config_errors()
        if self.invalid:
            # Loud and whole: one clear line, and nothing served half-configured.
            self.log.error(
                "termmux: invalid configuration (%s); the termmux socket is not served",
                "; ".join(f"TermMuxApp.{e}" for e in self.invalid),
            )
        settings = self.serverapp.web_app.settings
        terminals = Terminals(settings, self.history_limit, self.log)
        self.router = Router(terminals, self.limits(), self.log)
        if not self.invalid:
            self.router.profiles = {p.name: p for p in parse_profiles(self.profiles)}
        self.settings["termmux_router"] = self.router

    def initialize_handlers(self) -> None:
        assert self.serverapp is not None
        if self.invalid:
            return
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
