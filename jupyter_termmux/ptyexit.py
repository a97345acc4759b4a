"""The end of an adopted terminal: noticing it where no EOF says so, closing the PTY, reaping.

Part of the adapter (``pty.py`` owns one ``ExitWatch`` per terminal and calls ``close`` at its
EOF). A PTY reports its end as an EOF, but only to a reader: a paused PTY is not read, and a
job the shell left running, or a program that ignores SIGHUP, holds the PTY open after the
shell is gone.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import Any, Protocol

from .ptyio import EXIT_CHECK_INTERVAL, HANG_UP_AFTER, signal_name


class Watched(Protocol):
    """What ``ExitWatch`` needs of a PTY (``pty.Pty``)."""

    name: str
    #: False while paused: a paused PTY never reads its EOF
    reading: bool

    @property
    def ended(self) -> bool:
        """Whether its EOF was handled: nothing is watched any more."""

    def resume(self) -> None:
        """Read again (to the EOF, if the program ended)."""

    def hang_up(self) -> None:
        """Read what the kernel holds, then end as at an EOF."""


class ExitWatch:
    """Watches a PTY's shell (a pidfd) and, while the PTY is paused, its program."""

    def __init__(self, pty: Watched, ptyproc: Any, log: logging.Logger) -> None:
        self._loop = asyncio.get_running_loop()
        self._pty = pty
        self._ptyproc = ptyproc
        self._log = log
        self._exit_check: asyncio.TimerHandle | None = None
        self._shell_watch: int | None = None  # a pidfd of the shell: readable once it exits
        self._hang_up: asyncio.TimerHandle | None = None

    # --- the shell -------------------------------------------------------------------

    def watch_shell(self) -> None:
        """Hang up ``HANG_UP_AFTER`` after the shell exits, as a terminal window closes with its
        shell: a job it left running, or a program that ignores SIGHUP (every program, under a
        server started with ``nohup``) after JupyterLab's "Shut Down" killed the shell, holds
        the PTY open, so its EOF may never come."""
        ptyproc = self._ptyproc
        if ptyproc.terminated:  # reaped before adoption (only this loop's thread reaps)
            self._shell_exited()
            return
        try:
            fd = os.pidfd_open(ptyproc.pid)
        except ProcessLookupError:  # reaped by someone else: gone all the same
            self._shell_exited()
            return
        except (AttributeError, OSError):  # not Linux 5.3+ (or not allowed): the EOF decides
            return
        self._shell_watch = fd
        self._loop.add_reader(fd, self._shell_exited)

    def _shell_exited(self) -> None:
        self._unwatch_shell()
        if not self._pty.ended:
            self._hang_up = self._loop.call_later(HANG_UP_AFTER, self._pty.hang_up)

    def _unwatch_shell(self) -> None:
        if self._shell_watch is not None:
            self._loop.remove_reader(self._shell_watch)
            os.close(self._shell_watch)
            self._shell_watch = None

    # --- a paused PTY ----------------------------------------------------------------

    def paused(self) -> None:
        """The PTY stopped reading: look every ``EXIT_CHECK_INTERVAL`` whether its program
        ended (killed, or deleted through the REST API), and if so read it to the end. What is
        left is at most the kernel's PTY buffer."""
        self._exit_check = self._loop.call_later(EXIT_CHECK_INTERVAL, self._check_exit)

    def resumed(self) -> None:
        """The PTY reads again: its EOF will tell."""
        if self._exit_check is not None:
            self._exit_check.cancel()
            self._exit_check = None

    def _check_exit(self) -> None:
        self._exit_check = None
        if self._pty.reading or self._pty.ended:
            return
        try:
            alive = self._ptyproc.isalive()
        except Exception:  # noqa: BLE001  # reaped elsewhere: it is not alive
            alive = False
        if alive:
            self.paused()
        else:
            self._log.info(
                "termmux: paused session %s ended; reading its last output", self._pty.name
            )
            self._pty.resume()

    def stop(self) -> None:
        """Watch nothing any more (the PTY ended, or the server is stopping)."""
        self.resumed()
        self._unwatch_shell()
        if self._hang_up is not None:
            self._hang_up.cancel()
            self._hang_up = None


async def close(ptyproc: Any) -> tuple[int | None, str | None]:
    """Close a PTY and reap its program, killing it after 2 s; how it ended: its exit code, or
    the name of the signal that ended it.

    ptyprocess's ``close`` sleeps 0.1 s (and more to terminate); here the wait is async and
    every ``isalive`` runs on the loop thread, as terminado's ``terminate`` does, so the two
    never reap the same child from two threads.
    """
    loop = asyncio.get_running_loop()
    # Forget the fd in the loop before the kernel may hand its number to a new socket.
    loop.remove_reader(ptyproc.fd)
    loop.remove_writer(ptyproc.fd)
    try:
        ptyproc.fileobj.close()
    except OSError:
        pass
    ptyproc.closed = True
    ptyproc.fd = -1
    for attempt in range(60):
        try:
            if not ptyproc.isalive():
                break
        except Exception:  # noqa: BLE001  # reaped elsewhere: the status is what it is
            break
        if attempt == 40:
            ptyproc.kill(signal.SIGKILL)
        await asyncio.sleep(0.05)
    return ptyproc.exitstatus, signal_name(ptyproc.signalstatus)
