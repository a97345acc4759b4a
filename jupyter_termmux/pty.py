"""One adopted terminal: termmux reads, writes, sizes, watches and closes its PTY.

Part of the adapter around terminado and ptyprocess (with ``terminals.py``); contract tests in
``tests/test_terminals_contract.py`` pin what it assumes of them. Adopting a terminal takes
over its reading (as bytes, cut at UTF-8 boundaries, instead of terminado's decoded text), keeps
its byte-bounded ``History`` in ``read_buffer`` (JupyterLab's classic terminal socket replays
from it), funnels every input, its own and that of classic sockets, through one ordered,
non-blocking writer, notices its exit with the exit code or signal, and closes it off the event
loop (ptyprocess sleeps 0.1 s in ``close``).
"""

from __future__ import annotations

import asyncio
import codecs
import fcntl
import logging
import os
import signal
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from terminado.management import PtyWithClients
from tornado.websocket import WebSocketClosedError

from .history import History
from .ptyio import (
    ACTIVITY_INTERVAL,
    EXIT_CHECK_INTERVAL,
    HANG_UP_AFTER,
    INPUT_QUEUE_LIMIT,
    READ_SIZE,
    ReadRounds,
    read_cap,
    signal_name,
    split_utf8,
)


class TerminalError(Exception):
    """A terminal operation failed; ``kind`` says how (see ``connection.py``)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "unknown", "exists", "limit", "cwd", "create", "overflow"


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
    ) -> None:
        self.manager = manager
        self._rounds = rounds  # shared by every terminal of the server: they are read in turns
        self.name = name
        self.term = term
        self.log = log
        self._settings = settings
        #: Identity of this terminal's life: a new shell under a reused name has another.
        self.incarnation = uuid.uuid4().hex[:16]
        self.fd: int = term.ptyproc.fd
        self.history = History(history_limit)
        self.read_limit = read_cap(history_limit)
        for text in term.read_buffer:  # what terminado kept before adoption
            self.history.append(text.encode("utf-8", "replace"))
        self.on_output: Callable[[bytes], None] = lambda data: None
        self.on_exit: Callable[[int | None, str | None], None] = lambda code, sig: None
        self.reading_changed: Callable[[bool], None] = lambda reading: None
        self.exit_code: int | None = None
        self.exit_signal: str | None = None
        self.exited = asyncio.get_running_loop().create_future()
        self.reading = False
        self._loop = asyncio.get_running_loop()
        self._carry = b""
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._input = bytearray()
        self._writing = False
        self._room = asyncio.Event()
        self._room.set()
        self._last_activity = 0.0
        self._exit_check: asyncio.TimerHandle | None = None
        self._ended = False
        self._shell_watch: int | None = None  # a pidfd of the shell: readable once it exits
        self._hang_up: asyncio.TimerHandle | None = None
        self._adopt()
        self._watch_shell()

    # --- adoption --------------------------------------------------------------------

    def _adopt(self) -> None:
        """Take the PTY's reading and writing over from terminado."""
        from tornado.ioloop import IOLoop

        IOLoop.current().remove_handler(self.fd)  # terminado's reader
        flags = fcntl.fcntl(self.fd, fcntl.F_GETFL)
        # Safe now that every read and write of this PTY is ours, on the event loop.
        fcntl.fcntl(self.fd, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.term.read_buffer = self.history  # type: ignore[assignment]  # classic replays
        self.term.ptyproc.write = self._write_from_thread  # classic sockets' input
        self.resume()

    # --- reading ---------------------------------------------------------------------

    def pause(self) -> None:
        """Stop reading: the program blocks on its own output (nothing is lost)."""
        if self.reading:
            self._loop.remove_reader(self.fd)
            self.reading = False
            self.reading_changed(False)
            self._exit_check = self._loop.call_later(EXIT_CHECK_INTERVAL, self._check_exit)

    def resume(self) -> None:
        """Read again."""
        if self._exit_check is not None:
            self._exit_check.cancel()
            self._exit_check = None
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

    def _check_exit(self) -> None:
        """A paused PTY never reports its EOF: if its program ended (killed, or deleted through
        the REST API), read it to the end. What is left is at most the kernel's PTY buffer."""
        self._exit_check = None
        if self.reading or self._ended:
            return
        try:
            alive = self.term.ptyproc.isalive()
        except Exception:  # noqa: BLE001  # reaped elsewhere: it is not alive
            alive = False
        if alive:
            self._exit_check = self._loop.call_later(EXIT_CHECK_INTERVAL, self._check_exit)
        else:
            self.log.info("termmux: paused session %s ended; reading its last output", self.name)
            self.resume()

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
        self.history.append(data)
        self._activity()
        self.on_output(data)
        classic = [c for c in self.term.clients if hasattr(c, "on_pty_read")]
        if classic:
            text = self._decoder.decode(data)
            for client in classic:
                try:
                    client.on_pty_read(text)
                except WebSocketClosedError:
                    pass  # a classic socket that is closing; its on_close removes it

    def _activity(self) -> None:
        """Output is activity for the idle culler (jupyter_server_terminals#112)."""
        now = self._loop.time()
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
        if not whole and len(self._input) + len(data) > INPUT_QUEUE_LIMIT:
            raise TerminalError(
                "overflow",
                f"session {self.name!r} is not reading its input ({len(self._input)} bytes "
                "queued); this input was not written",
            )
        self._input += data
        self.touch()
        self._flush_input()

    def _flush_input(self) -> None:
        if self.exited.done() or self.fd < 0:
            self._input.clear()
            return
        try:
            written = os.write(self.fd, self._input) if self._input else 0
        except BlockingIOError:
            written = 0
        except OSError as e:  # the PTY closed under us
            self.log.warning("termmux: input to session %s failed: %s", self.name, e)
            self._input.clear()
            written = 0
        del self._input[:written]
        if self._input and not self._writing:
            self._loop.add_writer(self.fd, self._flush_input)
            self._writing = True
        elif not self._input and self._writing:
            self._loop.remove_writer(self.fd)
            self._writing = False
        if len(self._input) < INPUT_QUEUE_LIMIT // 2:
            self._room.set()

    def _write_from_thread(self, text: str) -> int:
        """terminado's classic socket writes here from its executor thread: queue it on the
        loop and wait for room, so a flood of classic input blocks that thread, not the loop."""
        data = text.encode("utf-8", "replace")
        asyncio.run_coroutine_threadsafe(self._write_when_room(data), self._loop).result()
        return len(data)

    async def _write_when_room(self, data: bytes) -> None:
        # Wait while others' input fills the queue; a paste larger than the whole queue goes
        # in once the queue is empty (it is bounded by the classic socket's message size).
        while (
            self._input
            and len(self._input) + len(data) > INPUT_QUEUE_LIMIT
            and not self.exited.done()
        ):
            self._room.clear()
            await self._room.wait()
        if not self.exited.done():
            self.write(data, whole=True)

    # --- size ------------------------------------------------------------------------

    def resize_to_smallest(self) -> None:
        """The PTY takes the smallest size of its clients, as terminado does."""
        if not self.exited.done() and self.fd >= 0:
            self.term.resize_to_smallest()

    def nudge(self) -> None:
        """Make a full-screen program repaint: rows-1, then back (SIGWINCH twice), as dtach
        and abduco do; many programs only redraw when the size really changes."""
        if self.exited.done() or self.fd < 0:
            return
        rows, cols = self.term.ptyproc.getwinsize()
        if rows > 1:
            self.term.ptyproc.setwinsize(rows - 1, cols)
            self._loop.call_later(0.05, self._restore_size, rows, cols)

    def _restore_size(self, rows: int, cols: int) -> None:
        if not self.exited.done() and self.fd >= 0:
            self.term.ptyproc.setwinsize(rows, cols)
            self.resize_to_smallest()

    # --- end -------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop watching the PTY for good (the server is stopping); it is not read again."""
        self.pause()
        if self._exit_check is not None:
            self._exit_check.cancel()
            self._exit_check = None
        self._unwatch_shell()
        if self._hang_up is not None:
            self._hang_up.cancel()
            self._hang_up = None

    # --- the shell -------------------------------------------------------------------

    def _watch_shell(self) -> None:
        """Hang up ``HANG_UP_AFTER`` after the shell exits, as a terminal window closes with its
        shell: a job it left running, or a program that ignores SIGHUP (every program, under a
        server started with ``nohup``) after JupyterLab's "Shut Down" killed the shell, holds
        the PTY open, so its EOF may never come."""
        ptyproc = self.term.ptyproc
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
        if not self._ended:
            self._hang_up = self._loop.call_later(HANG_UP_AFTER, self.hang_up)

    def _unwatch_shell(self) -> None:
        if self._shell_watch is not None:
            self._loop.remove_reader(self._shell_watch)
            os.close(self._shell_watch)
            self._shell_watch = None

    def _eof(self) -> None:
        """The program ended: stop watching the fd, close it off the loop, report the exit."""
        self._ended = True  # from here on nothing may watch the fd again: it is about to close
        if self._carry:  # an incomplete character at the very end: deliver it as it is
            data, self._carry = self._carry, b""
            self._deliver(data)
        self.stop()
        if self._writing:
            self._loop.remove_writer(self.fd)
            self._writing = False
        self._input.clear()
        self._room.set()
        self.manager.ptys_by_fd.pop(self.fd, None)
        if self.manager.terminals.get(self.name) is self.term:
            del self.manager.terminals[self.name]
        task = self._loop.create_task(self._close())
        _background.add(task)
        task.add_done_callback(_background.discard)

    async def _close(self) -> None:
        """Close the PTY and reap the program without sleeping on the loop.

        ptyprocess's ``close`` sleeps 0.1 s (and more to terminate); here the wait is async
        and every ``isalive`` runs on the loop thread, as terminado's ``terminate`` does, so
        the two never reap the same child from two threads.
        """
        ptyproc = self.term.ptyproc
        # Forget the fd in the loop before the kernel may hand its number to a new socket.
        self._loop.remove_reader(self.fd)
        self._loop.remove_writer(self.fd)
        try:
            ptyproc.fileobj.close()
        except OSError:
            pass
        ptyproc.closed = True
        ptyproc.fd = -1
        self.fd = -1
        for attempt in range(60):
            try:
                if not ptyproc.isalive():
                    break
            except Exception:  # noqa: BLE001  # reaped elsewhere: the status is what it is
                break
            if attempt == 40:
                ptyproc.kill(signal.SIGKILL)
            await asyncio.sleep(0.05)
        self.exit_code = ptyproc.exitstatus
        self.exit_signal = signal_name(ptyproc.signalstatus)
        self.log.info(
            "termmux: session %s ended (code %s, signal %s)",
            self.name,
            self.exit_code,
            self.exit_signal,
        )
        try:
            for client in list(self.term.clients):
                if hasattr(client, "on_pty_died"):  # classic terminal sockets
                    try:
                        client.on_pty_died()
                    except WebSocketClosedError:
                        pass  # a classic socket already closing
        finally:
            # Whatever a classic socket did, the end is reported and waiters are released.
            if not self.exited.done():
                self.exited.set_result(None)
            self._room.set()
            self.on_exit(self.exit_code, self.exit_signal)


#: Tasks that must finish even if whoever started them goes away (a closing socket).
_background: set[asyncio.Task[Any]] = set()
