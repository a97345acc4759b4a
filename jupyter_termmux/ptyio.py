"""Reading a PTY's file descriptor, and naming how its program ended: small helpers of
``pty.py`` kept apart so each is tested on its own, and the adapter's constants."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from .policy import READ_SIZE, TRIM_SLACK, history_room

__all__ = ["READ_SIZE"]

#: Input bytes a terminal may have queued while its program does not read them.
INPUT_QUEUE_LIMIT = 1024 * 1024

#: Seconds between checks that a paused terminal's program is still alive.
EXIT_CHECK_INTERVAL = 1.0

#: Seconds between activity stamps for the culler (output is activity too).
ACTIVITY_INTERVAL = 1.0

#: Seconds a terminal whose shell is gone may take to reach its EOF before the server hangs up
#: its end (more than EXIT_CHECK_INTERVAL: a paused PTY is read to its end first).
HANG_UP_AFTER = 2.0


def read_cap(limit: int) -> int:
    """Most bytes one read round may take from a PTY into a history of ``limit`` bytes: what
    it holds beyond ``history_room`` and the trimming slack, so one round never moves history
    past a position it holds for (at least 1: a history too small for that cannot keep the
    promise)."""
    return max(1, limit - history_room(limit) - TRIM_SLACK)


#: A read this long means the line discipline was full: more is probably on its way.
KERNEL_CHUNK = 4095


class Readable(Protocol):
    """What ``ReadRounds`` needs of a PTY (``pty.Pty``)."""

    fd: int
    #: False once paused or ended: not read again in this round
    reading: bool
    #: Most bytes one round may read from it
    read_limit: int

    def on_read(self, data: bytes, eof: bool) -> None:
        """What one round read (possibly nothing), and whether the PTY ended."""


class ReadRounds:
    """Reads every PTY that is ready in turns of one kernel read each, instead of one PTY to
    its cap and then the next.

    Linux moves a PTY's output into its line discipline 4095 bytes at a time, on a kernel
    worker; a read that finds it empty sleeps until that worker has run
    (``tty_buffer_flush_work``). Reading the other ready PTYs in between gives each worker
    that time, so the loop sleeps less and every session keeps its program writing. Readiness
    only queues a PTY; the round runs first thing in the next loop pass. A PTY leaves the
    round on a short read, at its ``read_limit`` or when it stops reading, and its data goes
    out at once: a quiet session's echo does not wait for the floods.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._queued: dict[int, Readable] = {}  # by id, in the order they became ready
        #: PTYs the round in this pass read to the end: the pass's readiness callbacks for them
        #: are from before that (epoll reports an fd again while it holds more)
        self._drained: set[int] = set()

    def ready(self, pty: Readable) -> None:
        """``pty``'s fd is readable (an ``add_reader`` callback): read it in the next round."""
        if id(pty) in self._drained:
            return
        if not self._queued:
            self._loop.call_soon(self._round)
        self._queued.setdefault(id(pty), pty)

    def _forget_drained(self) -> None:
        self._drained.clear()

    def _round(self) -> None:
        turn = list(self._queued.values())
        self._queued.clear()
        # Cleared first thing in the next pass, before its readiness callbacks.
        self._loop.call_soon(self._forget_drained)
        got: dict[int, list[bytes]] = {id(p): [] for p in turn}
        size: dict[int, int] = dict.fromkeys(got, 0)
        while turn:
            again: list[Readable] = []
            for pty in turn:
                key = id(pty)
                if not pty.reading or pty.fd < 0:  # paused by what another PTY delivered
                    self._done(pty, got[key], False)
                    continue
                try:
                    chunk = os.read(pty.fd, pty.read_limit - size[key])
                except BlockingIOError:
                    self._done(pty, got[key], False)
                    continue
                except OSError:  # EIO: the program and every holder of the tty ended
                    self._done(pty, got[key], True)
                    continue
                if not chunk:
                    self._done(pty, got[key], True)
                    continue
                got[key].append(chunk)
                size[key] += len(chunk)
                if size[key] >= pty.read_limit:
                    self._done(pty, got[key], False, at_limit=True)
                elif len(chunk) >= KERNEL_CHUNK:
                    again.append(pty)
                else:  # the PTY had no more than this: don't pay for an EAGAIN
                    self._done(pty, got[key], False)
            turn = again

    def _done(self, pty: Readable, parts: list[bytes], eof: bool, at_limit: bool = False) -> None:
        if not at_limit:  # at the limit it may hold more: its pending callback saves a pass
            self._drained.add(id(pty))
        try:
            pty.on_read(parts[0] if len(parts) == 1 else b"".join(parts), eof)
        except Exception as e:  # noqa: BLE001  # a bug in one session must not lose the others' data
            self._loop.call_exception_handler(
                {"message": f"termmux: delivering output of PTY fd {pty.fd} failed", "exception": e}
            )


class ClientList(list[Any]):
    """terminado's client list of an adopted terminal, telling when a classic socket (one
    that terminado feeds with ``on_pty_read``) joins or leaves: the router decides again, as a
    classic socket always has room for output."""

    def __init__(self, clients: list[Any], changed: Callable[[], None]) -> None:
        super().__init__(clients)
        self.changed = changed

    def append(self, client: Any) -> None:
        super().append(client)
        if hasattr(client, "on_pty_read"):
            self.changed()

    def remove(self, client: Any) -> None:
        super().remove(client)
        if hasattr(client, "on_pty_read"):
            self.changed()


def split_utf8(data: bytes) -> int:
    """Where ``data`` ends on a whole UTF-8 sequence (an incomplete tail waits for more)."""
    n = len(data)
    for back in range(1, min(4, n + 1)):
        byte = data[n - back]
        if byte < 0x80 or byte >= 0xF8:  # ASCII, or no UTF-8 at all: nothing to wait for
            return n
        if byte >= 0xC0:  # a lead byte: is its sequence complete?
            need = 2 if byte < 0xE0 else 3 if byte < 0xF0 else 4
            return n if back >= need else n - back
    return n


def signal_name(sig: int | None) -> str | None:
    """``SIGKILL`` for 9; real-time signals have no name in ``signal.Signals``."""
    if not sig:
        return None
    try:
        return signal.Signals(sig).name
    except ValueError:
        return f"SIG{sig}"


def _swallow(signum: int, frame: object) -> None:
    """What an ignored SIGINT or SIGQUIT did to the server while a terminal starts: nothing."""


@contextlib.contextmanager
def default_interrupts() -> Iterator[None]:
    """Start a terminal's program with SIGINT and SIGQUIT at their defaults, as a login does.

    A server started as a background job of a script has both ignored (POSIX), and exec keeps
    an ignored signal ignored: every shell it spawned ignored Ctrl-C and Ctrl-\\. A handler, unlike
    an ignore, is reset by exec; in the server it swallows the signal as the ignore did. Only on
    the main thread (where terminals are spawned, on the loop) can dispositions change."""
    saved: dict[signal.Signals, Any] = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGQUIT):
            if signal.getsignal(sig) == signal.SIG_IGN:
                saved[sig] = signal.signal(sig, _swallow)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)
