"""Input to one adopted PTY: queued whole and in order, written without ever blocking the loop.

Part of the adapter (``pty.py`` owns one ``PtyInput`` per terminal). termmux's sockets write
here on the loop; terminado's classic sockets write from their executor thread through
``write_from_thread``, so every input of a terminal goes through one ordered queue.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable

from .ptyio import INPUT_QUEUE_LIMIT


class PtyInput:
    """The ordered, non-blocking input queue of one PTY."""

    def __init__(
        self,
        fd: int,
        exited: asyncio.Future[None],
        touch: Callable[[], None],
        name: str,
        log: logging.Logger,
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._fd = fd
        self._exited = exited
        self._touch = touch  # input is activity for the idle culler
        self._name = name
        self._log = log
        self._queue = bytearray()
        self._writing = False
        self._room = asyncio.Event()
        self._room.set()
        # Waiters for room must not outlive the terminal: a classic socket's thread waits on them.
        exited.add_done_callback(lambda _: self._room.set())

    @property
    def queued(self) -> int:
        """Bytes written to the queue and not yet to the PTY."""
        return len(self._queue)

    def write(self, data: bytes, *, whole: bool = False) -> bool:
        """Queue input and write what the PTY takes now, the rest when it has room; False, and
        nothing queued, if the queue would pass ``INPUT_QUEUE_LIMIT`` (the program is not
        reading its input).

        ``whole``: take it even past the limit (a classic socket's paste, waited for room).
        """
        if not whole and len(self._queue) + len(data) > INPUT_QUEUE_LIMIT:
            return False
        self._queue += data
        self._touch()
        self._flush()
        return True

    def _flush(self) -> None:
        if self._exited.done() or self._fd < 0:
            self._queue.clear()
            return
        try:
            written = os.write(self._fd, self._queue) if self._queue else 0
        except BlockingIOError:
            written = 0
        except OSError as e:  # the PTY closed under us
            self._log.warning("termmux: input to session %s failed: %s", self._name, e)
            self._queue.clear()
            written = 0
        del self._queue[:written]
        if self._queue and not self._writing:
            self._loop.add_writer(self._fd, self._flush)
            self._writing = True
        elif not self._queue and self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        if len(self._queue) < INPUT_QUEUE_LIMIT // 2:
            self._room.set()

    def write_from_thread(self, text: str) -> int:
        """terminado's classic socket writes here from its executor thread: queue it on the
        loop and wait for room, so a flood of classic input blocks that thread, not the loop."""
        data = text.encode("utf-8", "replace")
        asyncio.run_coroutine_threadsafe(self._write_when_room(data), self._loop).result()
        return len(data)

    async def _write_when_room(self, data: bytes) -> None:
        # Wait while others' input fills the queue; a paste larger than the whole queue goes
        # in once the queue is empty (it is bounded by the classic socket's message size).
        while (
            self._queue
            and len(self._queue) + len(data) > INPUT_QUEUE_LIMIT
            and not self._exited.done()
        ):
            self._room.clear()
            await self._room.wait()
        if not self._exited.done():
            self.write(data, whole=True)

    def stop(self) -> None:
        """The PTY ended: stop waiting for room to write, drop what is queued, let waiters go."""
        if self._writing:
            self._loop.remove_writer(self._fd)
            self._writing = False
        self._queue.clear()
        self._room.set()

    def close(self) -> None:
        """The PTY's fd is closed (its number may be reused): nothing is written to it again."""
        self._fd = -1
