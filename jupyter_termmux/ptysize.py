"""One adopted terminal's clients and its size: who is on terminado's client list, and which size
the PTY takes.

Part of the adapter (``pty.py`` owns one ``PtySize`` per terminal and delegates to it).
termmux's subscribers join terminado's client list next to classic sockets, only through
``add_subscriber`` and ``remove_subscriber``.

The PTY takes the size of the writer that most recently typed or resized (tmux's
``window-size latest``; ``sizing.Latest``), not terminado's smallest client, so a narrow window
or a phone no longer shrinks everyone's terminal. The adapter owns the rule for classic sockets
too: terminado's ``resize_to_smallest``, which their handler calls on a resize, is replaced on
the adopted terminal, and their input is noticed as it is handed to the writer thread. Viewers
never set a size. Every change is recorded in history and reported (``on_resize``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from terminado.management import PtyWithClients

from . import sizing
from .history import History


class Member(Protocol):
    """A termmux subscriber as terminado's client list sees it (``session.Subscriber``)."""

    #: (rows, cols) of its view, None while unknown: the size rule reads it
    size: tuple[int | None, int | None]


class Sized(Protocol):
    """What ``PtySize`` needs of a PTY (``pty.Pty``)."""

    name: str
    term: PtyWithClients
    history: History
    #: -1 once closed
    fd: int
    #: Done once the program ended
    exited: asyncio.Future[Any]
    #: Told every new size (the router's hook, set after adoption)
    on_resize: Callable[[int, int], None]

    def clock(self) -> float:
        """Now, on the clock of history's times."""


class PtySize:
    """The clients of one adopted terminal, and the size they give its PTY."""

    def __init__(self, pty: Sized, log: logging.Logger, now: float) -> None:
        self._pty = pty
        self._log = log
        self._loop = asyncio.get_running_loop()
        rows, cols = pty.term.ptyproc.getwinsize()
        #: The PTY's size, as the adapter set or found it.
        self._size = (rows, cols)
        pty.history.resized(rows, cols, now)
        self._latest = sizing.Latest()
        #: The classic sockets seen so far, with the size each had last.
        self._classic_sizes: dict[Any, tuple[Any, ...]] = {}

    def adopt(self) -> None:
        """Take the size rule over from terminado, with the classic sockets already there."""
        # terminado calls this when a classic socket sends its size or leaves.
        self._pty.term.resize_to_smallest = self._classic_changed  # type: ignore[method-assign]
        for client in self.classic():  # already here: known, not yet active
            self._watch_classic(client, tuple(client.size))

    @property
    def size(self) -> tuple[int, int] | None:
        """(rows, cols) of the PTY, None once it ended."""
        return None if self._closed else self._size

    @property
    def _closed(self) -> bool:
        return self._pty.exited.done() or self._pty.fd < 0

    def add_subscriber(self, sub: Member) -> None:
        """Put a termmux subscriber on terminado's client list, so that the terminal's client
        count (REST, JupyterLab) includes it; idempotent. Its size counts once it resizes."""
        clients = self._pty.term.clients
        if not any(c is sub for c in clients):
            clients.append(sub)

    def remove_subscriber(self, sub: Member) -> None:
        """Take a subscriber off terminado's client list; if its size was the PTY's, the next
        most recently active writer's applies. Idempotent."""
        clients = self._pty.term.clients
        for i, client in enumerate(clients):
            if client is sub:
                del clients[i]
                self._latest.forget(sub)
                self._apply()
                return

    def resize(self, member: Member, rows: int, cols: int) -> None:
        """A writer sent its size: it is the most recently active, and the PTY takes it."""
        member.size = (rows, cols)
        self._latest.active(member)
        self._apply()

    def typed(self, member: Member) -> None:
        """A writer sends input: it becomes the most recently active, and the PTY takes its
        size (before the input is written). Cheap when it already has the size."""
        if member is not self._latest.sizer and sizing.known(member.size) is not None:
            self._latest.active(member)
            self._apply()

    def forget_size(self, member: Member) -> None:
        """A subscriber became a viewer: its size no longer counts."""
        member.size = (None, None)
        self._latest.forget(member)
        self._apply()

    def classic(self) -> list[Any]:
        """The clients that are classic terminal sockets (JupyterLab's own), not subscribers."""
        # terminado feeds every client on_pty_read; termmux's subscribers have no such method.
        return [c for c in self._pty.term.clients if hasattr(c, "on_pty_read")]

    def _classic_changed(self) -> None:
        """terminado's ``resize_to_smallest`` on the adopted terminal: a classic socket sent
        its size (then it is the most recently active) or one left."""
        classic = self.classic()
        for client in classic:
            size = tuple(client.size)
            if client not in self._classic_sizes:
                self._watch_classic(client, (None, None))  # joined since: this is news
            if self._classic_sizes[client] != size:
                self._classic_sizes[client] = size
                if sizing.known(size) is not None:
                    self._latest.active(client)
        for client in [c for c in self._classic_sizes if not any(c is k for k in classic)]:
            del self._classic_sizes[client]
            self._latest.forget(client)
        self._apply()

    def _watch_classic(self, client: Any, size: tuple[Any, ...]) -> None:
        """Notice a classic socket's input (terminado's ``stdin_to_ptyproc``, called on the
        loop before its writer thread runs): typing makes it the most recently active."""
        self._classic_sizes[client] = size
        write = client.stdin_to_ptyproc

        def stdin_to_ptyproc(text: str) -> Any:
            self.typed(client)
            return write(text)

        client.stdin_to_ptyproc = stdin_to_ptyproc

    def _apply(self) -> None:
        """Give the PTY the most recently active writer's size (unchanged if none is known)."""
        if self._closed:
            return
        pty = self._pty
        size = self._latest.size(pty.term.clients)
        if size is None or size == self._size:
            return
        self._size = size
        pty.term.ptyproc.setwinsize(*size)
        pty.history.resized(size[0], size[1], pty.clock())
        self._log.debug("termmux: session %s resized to %dx%d", pty.name, size[0], size[1])
        pty.on_resize(*size)

    def nudge(self) -> None:
        """Make a full-screen program repaint: rows-1, then back (SIGWINCH twice), as dtach
        and abduco do; many programs only redraw when the size really changes."""
        if self._closed:
            return
        rows, cols = self._size
        if rows > 1:
            self._pty.term.ptyproc.setwinsize(rows - 1, cols)
            self._loop.call_later(0.05, self._restore_size)

    def _restore_size(self) -> None:
        if not self._closed:
            self._pty.term.ptyproc.setwinsize(*self._size)
