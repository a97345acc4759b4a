"""One adopted terminal: termmux reads, writes, sizes, watches and closes its PTY.

Part of the adapter around terminado and ptyprocess (with ``terminals.py``, ``ptyinput.py``
and ``ptyexit.py``); contract tests in ``tests/test_terminals_contract.py`` pin what it assumes
of them. Adopting a terminal takes over its reading (as bytes, cut at UTF-8 boundaries, instead
of terminado's decoded text), keeps its byte-bounded ``History`` in ``read_buffer`` (JupyterLab's
classic terminal socket replays from it), funnels every input, its own and that of classic
sockets, through one ordered, non-blocking writer (``ptyinput.PtyInput``), notices its exit with
the exit code or signal (``ptyexit.ExitWatch``), and closes it off the event loop (ptyprocess
sleeps 0.1 s in ``close``). Its clients and its size are ``ptysize.PtySize``'s, to which it
delegates: the PTY takes the size of the writer most recently active, and termmux's subscribers
join terminado's client list only through ``add_subscriber`` and ``remove_subscriber``.
"""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from terminado.management import PtyWithClients
from tornado.websocket import WebSocketClosedError

from . import ptyexit
from .history import History
from .ptyinput import PtyInput
from .ptyio import ACTIVITY_INTERVAL, READ_SIZE, ClientList, ReadRounds, read_cap, split_utf8
from .ptysize import Member, PtySize


class TerminalError(Exception):
    """A terminal operation failed; ``kind`` says how (see ``connection.py``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "unknown", "exists", "limit", "cwd", "create", "overflow"


@dataclass(frozen=True)
class Seed:
    """Where a kept terminal's history goes on from (``Pty.release``): its oldest held offset,
    the bytes held from there, and an incomplete UTF-8 character read after them."""

    start: int
    data: bytes
    carry: bytes


class Pty:
    """One adopted terminal: its reader, writer, history, exit, size and identity."""

    def __init__(
        self,
        manager: Any,
        name: str,
        term: PtyWithClients,
        history_limit: int,
        settings: dict[str, Any],
        log: logging.Logger,
        rounds: ReadRounds,
        incarnation: str | None = None,
        seed: Seed | None = None,
    ) -> None:
        self.manager = manager
        self._rounds = rounds  # shared by every terminal of the server: they are read in turns
        self.name = name
        self.term = term
        self.log = log
        self._settings = settings
        #: Identity of this terminal's life: a new shell under a reused name has another.
        self.incarnation = incarnation or uuid.uuid4().hex[:16]
        self.fd: int = term.ptyproc.fd
        self._loop = asyncio.get_running_loop()
        self.history = History(history_limit, seed.start if seed else 0)
        self.read_limit = read_cap(history_limit)
        now = self._loop.time()
        if seed is not None:  # a kept terminal's history, saved by the server before
            self.history.append(seed.data, now)
        #: Its clients and its size (the size it has now goes into history first).
        self._sizes = PtySize(self, log, now)
        for text in term.read_buffer:  # what terminado kept before adoption
            self.history.append(text.encode("utf-8", "replace"), now)
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.on_exit: Callable[[int | None, str | None], None] = lambda code, sig: None
        self.reading_changed: Callable[[bool], None] = lambda reading: None
        #: A classic socket joined or left (``ptyio.ClientList``).
        self.clients_changed: Callable[[], None] = lambda: None
        self.on_resize: Callable[[int, int], None] = lambda rows, cols: None
        self.exited = self._loop.create_future()
        self.reading = False
        self._carry = seed.carry if seed else b""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._input = PtyInput(self.fd, self.exited, self.touch, name, log)
        self._last_activity = 0.0
        self._ended = False
        self._exits = ptyexit.ExitWatch(self, term.ptyproc, log)
        self._adopt()
        self._exits.watch_shell()

    @property
    def ended(self) -> bool:
        """Whether its EOF was handled: it is not read, written or watched again."""
        return self._ended

    # --- adoption --------------------------------------------------------------------

    def _adopt(self) -> None:
        """Take the PTY's reading and writing over from terminado."""
        from tornado.ioloop import IOLoop

        IOLoop.current().remove_handler(self.fd)  # terminado's reader
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        # Safe now that every read and write of this PTY is ours, on the event loop.
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.term.read_buffer = self.history  # type: ignore[assignment]  # classic replays
        self.term.clients = ClientList(self.term.clients, lambda: self.clients_changed())
        self.term.ptyproc.write = self._input.write_from_thread  # classic sockets' input
        self._sizes.adopt()  # and terminado's size rule
        self.resume()

    # --- reading ---------------------------------------------------------------------

    def pause(self) -> None:
        """Stop reading: the program blocks on its own output (nothing is lost)."""
        if self.reading:
            self._loop.remove_reader(self.fd)
            self.reading = False
            self.reading_changed(False)
            self._exits.paused()  # a paused PTY never reports its EOF

    def resume(self) -> None:
        """Read again."""
        self._exits.resumed()
        if not self.reading and not self._ended and self.fd >= 0:
            self._loop.add_reader(self.fd, self._rounds.ready, self)
            self.reading = True
            self.reading_changed(True)

    def hang_up(self) -> None:
        """Close our end now, as a line hangs up: the shell is gone, but a job it left running
        or a program that ignores SIGHUP (a server started under ``nohup`` passes that on to
        every terminal) can hold the PTY open, so its EOF would never come. What the kernel
        already holds is read first; that program's next write to the terminal fails."""
        if not self._ended:
            self.log.info("termmux: session %s outlived its shell; hanging up", self.name)
            self._read_rest()
        if not self._ended:
            self._eof()

    def _read_rest(self) -> None:
        """Read what the kernel holds now, paused or not (a paused PTY is read only a round a
        second), up to one history's worth: a program that keeps writing cannot hold off the
        hang-up."""
        left = self.history.limit
        while left > 0 and not self._ended:
            try:
                chunk = os.read(self.fd, min(READ_SIZE, left))
            except BlockingIOError:
                return
            except OSError:  # EIO: every holder of the terminal is gone after all
                chunk = b""
            self.on_read(chunk, not chunk)
            left -= len(chunk)

    def on_read(self, data: bytes, eof: bool) -> None:
        """What a read round took from the PTY (``ptyio.ReadRounds``)."""
        if self._carry:
            data = self._carry + data
        cut = split_utf8(data)
        self._carry = data[cut:]
        if data:
            self._deliver(data[:cut] if cut < len(data) else data)
        if eof:
            self._eof()

    def _deliver(self, data: bytes) -> None:
        """Output read from the PTY: into history, to termmux's router, to classic sockets."""
        if not data:
            return
        now = self._loop.time()
        self.history.append(data, now)
        self._activity(now)
        self.on_output(data)
        classic = self._sizes.classic()
        if classic:
            text = self._decoder.decode(data)
            for client in classic:
                try:
                    client.on_pty_read(text)
                except WebSocketClosedError:
                    pass  # a classic socket that is closing; its on_close removes it

    def _activity(self, now: float) -> None:
        """Output is activity for the idle culler (jupyter_server_terminals#112)."""
        if now - self._last_activity >= ACTIVITY_INTERVAL:
            self._last_activity = now
            self.touch()

    def touch(self) -> None:
        """Stamp activity on the terminal and the server (culling, /api/status)."""
        stamp = datetime.now(timezone.utc)
        self.term.last_activity = stamp  # type: ignore[attr-defined]
        self._settings["terminal_last_activity"] = stamp

    # --- writing ---------------------------------------------------------------------

    def write(self, data: bytes, *, whole: bool = False) -> None:
        """Queue input, whole and in order, and write it without ever blocking.

        ``whole``: take it even past the limit (a classic socket's paste, waited for room).
        """
        if not self._input.write(data, whole=whole):
            raise TerminalError(
                "overflow",
                f"session {self.name!r} is not reading its input ({self._input.queued} bytes "
                "queued); this input was not written",
            )

    # --- clients and size (``ptysize.PtySize``) -------------------------------------

    def clock(self) -> float:
        """Now, on the clock of history's times (the event loop's)."""
        return self._loop.time()

    @property
    def size(self) -> tuple[int, int] | None:
        """(rows, cols) of the PTY, None once it ended."""
        return self._sizes.size

    def add_subscriber(self, sub: Member) -> None:
        """Put a termmux subscriber on terminado's client list; idempotent."""
        self._sizes.add_subscriber(sub)

    def remove_subscriber(self, sub: Member) -> None:
        """Take a subscriber off terminado's client list (and its size off the PTY)."""
        self._sizes.remove_subscriber(sub)

    def resize(self, member: Member, rows: int, cols: int) -> None:
        """A writer sent its size: the PTY takes it."""
        self._sizes.resize(member, rows, cols)

    def typed(self, member: Member) -> None:
        """A writer sends input: the PTY takes its size, before the input is written."""
        self._sizes.typed(member)

    def forget_size(self, member: Member) -> None:
        """A subscriber became a viewer: its size no longer counts."""
        self._sizes.forget_size(member)

    def classic_clients(self) -> int:
        """How many clients are classic terminal sockets (JupyterLab's own), not subscribers."""
        return len(self._sizes.classic())

    def nudge(self) -> None:
        """Make a full-screen program repaint (SIGWINCH twice)."""
        self._sizes.nudge()

    # --- end -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop watching the PTY for good (the server is stopping); it is not read again."""
        self.pause()
        self._exits.stop()

    def release(self) -> Seed:
        """Let go of the PTY for good without ending it (a kept terminal, the server is
        stopping): it is not read, written or watched again, and no exit is reported. What
        history holds, for the next server to go on from."""
        seed = Seed(
            self.history.start,
            self.history.read(self.history.start, self.history.nbytes),
            self._carry,
        )
        self._ended = True
        self.stop()
        self._input.stop()
        self._input.close()
        return seed

    def _eof(self) -> None:
        """The program ended: stop watching the fd, close it off the loop, report the exit."""
        self._ended = True  # from here on nothing may watch the fd again: it is about to close
        if self._carry:  # an incomplete character at the very end: deliver it as it is
            data, self._carry = self._carry, b""
            self._deliver(data)
        self.stop()
        self._input.stop()
        self.manager.ptys_by_fd.pop(self.fd, None)
        if self.manager.terminals.get(self.name) is self.term:
            del self.manager.terminals[self.name]
        task = self._loop.create_task(self._close())
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _close(self) -> None:
        """Close the PTY and reap the program without sleeping on the loop; report the exit."""
        self.fd = -1
        self._input.close()
        code, sig = await ptyexit.close(self.term.ptyproc)
        self.log.info("termmux: session %s ended (code %s, signal %s)", self.name, code, sig)
        try:
            for client in list(self.term.clients):
                if hasattr(client, "on_pty_died"):  # classic terminal sockets
                    try:
                        client.on_pty_died()
                    except WebSocketClosedError:
                        pass  # a classic socket already closing
        finally:
            # Whatever a classic socket did, the end is reported and input waiters are released
            # (``PtyInput`` lets them go once ``exited`` is done).
            if not self.exited.done():
                self.exited.set_result(None)
            self.on_exit(code, sig)


#: Tasks that must finish even if whoever started them goes away (a closing socket).
_background: set[asyncio.Task[Any]] = set()
