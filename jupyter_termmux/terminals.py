"""The server's terminal manager as termmux sees it: names, adoption, create, terminate.

With ``pty.py`` (one adopted terminal; its clients and size in ``ptysize.py``, its input in
``ptyinput.py``, its end in ``ptyexit.py``), the only code touching terminado,
jupyter_server_terminals and ptyprocess. Every assumption made about those packages is pinned by
a contract test in ``tests/test_terminals_contract.py``, so an upgrade that breaks one fails one
named test instead of something far away.

A terminal is *adopted* the first time a termmux socket attaches to it and stays adopted for its
life; classic terminal sockets on it keep working (see ``pty.py``).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
from pathlib import Path
from typing import Any

from terminado.management import MaxTerminalsReached

from .kept import Kept, KeptTerm, Saved
from .profiles import Profile
from .pty import Pty, Seed, TerminalError
from .ptyio import HANG_UP_AFTER, ReadRounds, default_interrupts

__all__ = ["Pty", "TerminalError", "Terminals"]


class Terminals:
    """The server's terminal manager as termmux sees it: names, adoption, create, terminate."""

    def __init__(
        self,
        settings: dict[str, Any],
        history_limit: int,
        log: logging.Logger,
        kept: Kept | None = None,
    ) -> None:
        # Read lazily: jupyter_server_terminals may install its manager after this extension.
        self._settings = settings
        self.history_limit = history_limit
        self.log = log
        #: Kept terminals (``TermMuxApp.keep_terminals``), None when off.
        self.kept = kept
        if kept is not None:
            kept.on_new = self._adopt_kept
            kept.on_end = self._adopt_kept  # its EOF, read by an adopted Pty, ends it
            kept.saving = self._release
        self._adopted: dict[str, Pty] = {}
        self._numbers = itertools.count(1)
        self._rounds: ReadRounds | None = None  # made on the loop, by the first adoption

    @property
    def available(self) -> bool:
        """Whether the server has terminals (``ServerApp.terminals_enabled`` and terminado)."""
        return bool(self._settings.get("terminals_available")) and (
            self._settings.get("terminal_manager") is not None
        )

    @property
    def manager(self) -> Any:
        return self._settings["terminal_manager"]

    def names(self) -> list[str]:
        """Every running terminal's name."""
        return list(self.manager.terminals)

    def client_count(self, name: str) -> int:
        """Clients of a terminal: termmux subscribers and classic sockets alike."""
        term = self.manager.terminals.get(name)
        return len(term.clients) if term is not None else 0

    def client_counts(self, name: str) -> tuple[int, int]:
        """(writers, viewers) of a terminal: classic sockets are writers, and a termmux
        subscriber is a viewer when attached in view mode (``Subscriber.viewing``)."""
        term = self.manager.terminals.get(name)
        if term is None:
            return 0, 0
        viewers = sum(1 for c in term.clients if getattr(c, "viewing", False))
        return len(term.clients) - viewers, viewers

    def get(self, name: str) -> Pty:
        """The adopted terminal ``name`` (adopting it now if needed)."""
        term = self.manager.terminals.get(name)
        if term is None:
            raise TerminalError("unknown", f"no session {name!r}")
        pty = self._adopted.get(name)
        if pty is not None and pty.term is term:
            return pty
        if self._rounds is None:
            self._rounds = ReadRounds(asyncio.get_running_loop())
        incarnation, seed = None, None
        if isinstance(term, KeptTerm):
            incarnation = term.incarnation
            if term.saved is not None:
                seed = Seed(term.saved.start, term.saved.data, term.saved.carry)
                term.saved = None
        pty = Pty(
            self.manager,
            name,
            term,
            self.history_limit,
            self._settings,
            self.log,
            self._rounds,
            incarnation,
            seed,
        )
        self._adopted[name] = pty
        pty.exited.add_done_callback(lambda _: self._forget(pty))
        if isinstance(term, KeptTerm) and term.repaint:
            term.repaint = False
            pty.nudge()  # adopted after a crash: what is on screen must be drawn again
        return pty

    # --- kept terminals ----------------------------------------------------------------

    def spawn_with_default_interrupts(self) -> None:
        """Every terminal's program starts with SIGINT and SIGQUIT at their defaults
        (``ptyio.default_interrupts``), however it is created (REST, termmux, JupyterLab's own
        terminal). Done when the extension loads (the terminal manager's extension loads first)
        and again at start, once: a server that is loaded but never started (tests) too."""
        if not self.available:
            return
        manager = self.manager
        spawn = manager.new_terminal
        if not getattr(spawn, "default_interrupts", False):

            def new_terminal(**kwargs: Any) -> Any:
                with default_interrupts():
                    return spawn(**kwargs)

            new_terminal.default_interrupts = True  # type: ignore[attr-defined]
            manager.new_terminal = new_terminal

    def start(self) -> None:
        """At the server's start, on the loop, once the manager exists: terminals start with
        Ctrl-C and Ctrl-\\ working, and kept terminals are served."""
        if not self.available:
            return
        self.spawn_with_default_interrupts()
        self.start_kept()

    def start_kept(self) -> None:
        """Serve kept terminals: new ones start under keepers, and those a previous server
        left running are adopted (on the loop, once the manager exists)."""
        if self.kept is None or not self.available:
            return
        self.kept.install(self.manager)
        for term in self.kept.adopt_all(self.manager):
            self._adopt_kept(term)

    def _adopt_kept(self, term: KeptTerm) -> None:
        """Adopt a kept terminal now: its reads, its history and its end are termmux's."""
        name = term.term_name
        if name is not None and self.manager.terminals.get(name) is term:
            self.get(name)

    def _release(self, term: KeptTerm) -> Saved | None:
        """A kept terminal's history to save (the server is stopping), once termmux let go."""
        name = term.term_name
        pty = self._adopted.get(name) if name is not None else None
        if pty is None or pty.term is not term or pty.ended:
            return None
        seed = pty.release()
        return Saved(pty.incarnation, seed.start, seed.data, seed.carry)

    def release_kept(self) -> None:
        """Let kept terminals live on after this server (it is stopping)."""
        if self.kept is not None and self.available:
            self.kept.release_all(self.manager)

    def _forget(self, pty: Pty) -> None:
        if self._adopted.get(pty.name) is pty:
            del self._adopted[pty.name]

    def _next_name(self) -> str:
        """A name never used before on this server: a reattaching client cannot land in
        another shell that took over the name of one that ended."""
        while True:
            name = str(next(self._numbers))
            if name not in self.manager.terminals:
                return name

    def create(
        self,
        name: str | None,
        cwd: str | None,
        rows: int | None,
        cols: int | None,
        profile: Profile | None = None,
    ) -> str:
        """Start a terminal through the manager (so it is a server terminal, listed by REST)."""
        manager = self.manager
        if name is not None and name in manager.terminals:
            raise TerminalError("exists", f"session {name!r} already exists")
        limit = getattr(manager, "max_terminals", None)
        if limit and len(manager.terminals) >= limit:
            # terminado checks this only when a classic socket names a new terminal.
            raise TerminalError("limit", f"cannot create more than {limit} terminals")
        if cwd is None and profile is not None:
            cwd = profile.cwd
        path = _resolve_cwd(self._settings.get("server_root_dir"), cwd)
        kwargs: dict[str, Any] = {"cwd": path, "name": name or self._next_name()}
        if profile is not None and profile.command is not None:
            # terminado lets these override its shell_command and add to the environment.
            kwargs.update(shell_command=profile.command, extra_env=profile.env)
        if rows and cols:
            kwargs.update(height=rows, width=cols)  # LINES and COLUMNS in its environment
        try:
            model = manager.create(**kwargs)
        except MaxTerminalsReached as e:
            raise TerminalError("limit", str(e)) from e
        except OSError as e:
            raise TerminalError("create", f"could not start a terminal: {e}") from e
        created: str = model["name"]
        if rows and cols:
            manager.terminals[created].ptyproc.setwinsize(rows, cols)
        self.log.info("termmux: created session %s in %s", created, path)
        return created

    async def terminate(self, name: str) -> Pty:
        """End a terminal; returns once it has exited (and its exit was reported)."""
        pty = self.get(name)
        pty.resume()  # a paused PTY would never report its EOF
        await self.manager.terminate(name, force=True)  # the shell is gone after this
        try:
            await asyncio.wait_for(asyncio.shield(pty.exited), timeout=HANG_UP_AFTER)
        except asyncio.TimeoutError:
            pty.hang_up()  # programs that ignore SIGHUP still hold it open (no shell watch)
            await asyncio.wait_for(asyncio.shield(pty.exited), timeout=10)
        return pty

    def shutdown(self) -> None:
        """Stop watching every adopted terminal (the server is stopping); kept ones are let
        go first, their history saved for the next server."""
        self.release_kept()
        for pty in list(self._adopted.values()):
            pty.stop()


def _resolve_cwd(root_dir: str | None, cwd: str | None) -> str:
    """The absolute directory a new terminal starts in; relative paths are under the root."""
    root = Path(root_dir or os.getcwd()).expanduser()
    if cwd is None:
        return str(root.resolve())
    try:
        path = Path(cwd).expanduser()
        if not path.is_absolute():
            path = root / path
        if path.is_dir():
            return str(path.resolve())
    except (OSError, RuntimeError, ValueError):  # ~nosuchuser, a name over the limit, NUL
        pass
    raise TerminalError("cwd", f"field 'cwd': {cwd!r} is not a directory")
