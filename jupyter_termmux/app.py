"""Server extension wiring: the configurable limits, the router, the handler."""

from __future__ import annotations

from typing import Any

from jupyter_server.extension.application import ExtensionApp
from traitlets import Bool, Dict, Float, Int, List

from . import policy
from .handlers import CastHandler, MuxSocketHandler
from .kept import Kept, kept_dir
from .policy import Limits
from .profiles import parse as parse_profiles
from .protocol import CloseCode
from .router import Router
from .terminals import Terminals

#: The protocol's defaults (protocol/schema.json), which the traits start from.
_DEFAULT = Limits()


class TermMuxApp(ExtensionApp):
    """Many terminals over one multiplexed, flow-controlled WebSocket."""

    name = "jupyter_termmux"
    load_other_extensions = True

    #: Set while loading; None when the configuration is invalid (nothing is served then).
    router: Router | None = None
    invalid: tuple[str, ...] = ()

    history_limit = Int(
        _DEFAULT.history_limit,
        config=True,
        help="""Bytes of each session's most recent output kept for replay, resume and
        catch-up (also what JupyterLab's classic terminal replays). Replaces terminado's buffer
        of the last 1000 chunks, which can hold 64 MB. The v2 window is capped at this less
        about 68 KiB (one read and the trimming slack).""",
    )
    max_message_size = Int(
        _DEFAULT.max_message_size,
        config=True,
        help="""Largest client frame, in bytes. A larger frame is answered with an error
        'message-too-large' and the socket stays open; frames over 8 times this are refused
        by tornado with close code 1009 before being read.""",
    )
    max_sessions_per_socket = Int(
        _DEFAULT.max_sessions_per_socket,
        config=True,
        help="Most sessions one socket may attach at once (error 'too-many-sessions').",
    )
    window = Int(
        _DEFAULT.window,
        config=True,
        help="""Protocol v2: unacknowledged output bytes one session may have in flight to one
        client (credit returned as xterm.js parses). Capped at the history room (history_limit
        less about 68 KiB). At least 64.""",
    )
    socket_window = Int(
        _DEFAULT.socket_window,
        config=True,
        help="""Output bytes one socket may have in flight, all sessions together: on v2
        unacknowledged bulk output (an echo never waits behind more), on both versions output
        handed to the socket and not yet written by the OS, whatever the client acknowledges.
        At least 64.""",
    )
    resume_hold = Float(
        _DEFAULT.resume_hold,
        config=True,
        help="""Protocol v2: seconds a socket that dropped (not closed, not unloaded) keeps a
        reservation on each of its sessions, released by the resume token of its attach: the
        PTY is not read past what history can still hold from that client's last delivered
        byte (within the session's grace, slow_subscriber_timeout). 0 turns it off.""",
    )
    slow_subscriber_timeout = Float(
        _DEFAULT.slow_subscriber_timeout,
        config=True,
        help="""Seconds of grace per session: how long the session's slow parties (a lagging
        subscriber still taking its output, a v1 socket that cannot keep up, a dropped
        socket's reservation) may together stop its PTY while another client could read, at a
        stretch; the grace refills at a quarter second per second. Past it, a v2 subscriber
        catches up from history or gets session.truncated, and a v1 socket is detached
        (session.detached, reason 'slow'). The rule is in jupyter_termmux/policy.py. 0 turns
        holds of shared sessions off.""",
    )

    allow_viewers = Bool(
        False,
        config=True,
        help="""Let users with only 'read' permission on terminals watch them: the socket opens
        for them and they may attach a session in view mode (no input, no resize). Who may do
        what is the server's authorizer's answer: read to view and list, execute to type and
        resize, write to create and close. Off by default because terminal output can contain
        secrets (tokens, passwords typed at a prompt that echoes). The recording endpoint
        (api/termmux/sessions/NAME/cast) needs 'read' either way.""",
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

    keep_terminals = Bool(
        False,
        config=True,
        help="""Keep terminals running across a restart of the server: each terminal's program
        runs under a small keeper process (python -m jupyter_termmux.keeper) that outlives the
        server, and the next server started with the same runtime directory adopts it under its
        old name. After a clean stop, clients resume without losing output (history is saved
        to the runtime directory); after a crash, they get what the new server read since, and
        full-screen programs are asked to repaint. The program's output never passes through
        the keeper. Off: terminals end with the server.""",
    )

    def limits(self) -> Limits:
        """The traits as plain values for the router and connections."""
        return policy.limits_from(self._limit_values())

    def _limit_values(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in LIMIT_TRAITS}

    def config_errors(self) -> list[str]:
        """What is wrong with the configuration (empty when it is sane)."""
        errors = policy.validate(self._limit_values())
        try:
            parse_profiles(self.profiles)
        except ValueError as e:
            errors.append(str(e))
        return errors

    def initialize_settings(self) -> None:
        assert self.serverapp is not None
        self.invalid = tuple(self.config_errors())
        if self.invalid:
            # Loud and whole: one clear line, and nothing served half-configured.
            self.log.error(
                "termmux: invalid configuration (%s); the termmux socket is not served",
                "; ".join(f"TermMuxApp.{e}" for e in self.invalid),
            )
            return
        settings = self.serverapp.web_app.settings
        kept = None
        if self.keep_terminals:
            try:
                kept = Kept(kept_dir(self.serverapp.runtime_dir), self.log)
            except OSError as e:
                self.log.error("termmux: terminals cannot be kept: %s", e)
        terminals = Terminals(settings, self.history_limit, self.log, kept)
        terminals.spawn_with_default_interrupts()
        self.router = Router(terminals, self.limits(), self.log)
        self.router.profiles = {p.name: p for p in parse_profiles(self.profiles)}
        self.settings["termmux_router"] = self.router
        self.settings["termmux_allow_viewers"] = self.allow_viewers

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
        self.handlers.append((r"/api/termmux/sessions/([^/]+)/cast", CastHandler))

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        """Adopt the terminals a previous server kept (``keep_terminals``), once the loop runs."""
        if self.router is not None:
            self.router.terminals.start()

    async def stop_extension(self) -> None:
        """Close every socket with 1001 so clients know to reconnect later."""
        if self.router is None:
            return  # not configured: nothing was served
        for client in list(self.router.clients()):
            client.close(CloseCode.GOING_AWAY, "server shutting down")
        self.router.shutdown()


#: The traits that make up ``policy.Limits``.
LIMIT_TRAITS = (
    "history_limit",
    "max_message_size",
    "max_sessions_per_socket",
    "window",
    "socket_window",
    "resume_hold",
    "slow_subscriber_timeout",
)
