"""Kept terminals (``TermMuxApp.keep_terminals``): the server side of ``keeper.py``.

With it on, the terminal manager starts every terminal under a keeper (``keeper.py``) instead
of as its own child: the keeper is the program's parent and outlives the server. The server
gets the PTY's master from the keeper over a Unix socket (``SCM_RIGHTS``) and reads and writes
it itself, as any terminal's; the keeper only reports how the program ended.

At a clean stop the server saves each kept session's history, offsets and incarnation next to
its keeper's socket and lets go of its PTY (the keeper's copy keeps the terminal alive, so no
SIGHUP); the next server started with the same runtime directory adopts every kept terminal
under its old name, resuming its history (``since`` goes on losslessly) or, after a crash with
nothing saved, with its offsets moved past any an earlier server gave (clients take the
truncated path) and a repaint nudge.

Files, all in ``<runtime dir>/termmux-kept/`` (mode 0700): ``<name>-<incarnation>.sock``
(0600, one per keeper) and, between a clean stop and the next start, ``….state`` (0600).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import select
import shlex
import socket
import stat
import subprocess
import sys
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ptyprocess import PtyProcessUnicode
from terminado.management import PtyWithClients

from . import keeper

#: Folder of the kept terminals' sockets and saved states, under the runtime directory.
DIRNAME = "termmux-kept"

#: Seconds the server waits for a keeper to start its program, or to answer ``attach``.
KEEPER_TIMEOUT = 10.0

#: How far the offsets of a terminal adopted after a crash jump, per server of its keeper: more
#: than a server can read (1 TiB), and 8191 crashes fit under JavaScript's largest safe integer.
CRASH_OFFSET_STEP = 2**40

#: Version of the saved state's header.
STATE_VERSION = 1


@dataclass
class Saved:
    """A session's history and offsets saved at a clean stop (``Kept.release``)."""

    incarnation: str
    start: int
    data: bytes
    carry: bytes


class KeptProcess(PtyProcessUnicode):  # type: ignore[misc]
    """ptyprocess's view of a program that is the keeper's child, not ours: its life is what
    the keeper reports (``ended``), and closing our end of the PTY only lets go of it."""

    def __init__(self, pid: int, fd: int) -> None:
        super().__init__(pid, fd, encoding="utf-8", codec_errors="replace")

    def ended(self, code: int | None, sig: str | None) -> None:
        """The keeper reported the program's end (or the keeper is gone)."""
        import signal as signals

        self.exitstatus = code
        self.signalstatus = getattr(signals, sig, None) if sig else None
        self.terminated = True

    def isalive(self) -> bool:
        return not self.terminated

    def wait(self) -> int | None:
        return self.exitstatus

    def close(self, force: bool = True) -> None:
        """Let go of our end of the PTY (the keeper still holds one: no hang-up)."""
        if not getattr(self, "closed", True):
            try:
                self.fileobj.close()
            except OSError:
                pass
            self.fd = -1
            self.closed = True


class KeptTerm(PtyWithClients):
    """A terminado terminal whose program runs under a keeper (``keeper.py``)."""

    def __init__(
        self,
        name: str,
        incarnation: str,
        ptyproc: KeptProcess,
        link: socket.socket,
        socket_path: Path,
    ) -> None:
        # PtyWithClients.__init__ would spawn a program: set its fields instead.
        self.clients: list[Any] = []
        self.read_buffer: deque[str] = deque([], maxlen=1000)
        self.ptyproc = ptyproc
        self.term_name = name
        #: The program's life, given by the server that started it and kept by its keeper.
        self.incarnation = incarnation
        self.link = link
        self.socket_path = socket_path
        self.lines = keeper.Lines()
        #: Set when adopted from a clean stop: the history to continue.
        self.saved: Saved | None = None
        #: Adopted after a crash: nudge the program to repaint once adopted.
        self.repaint = False
        #: Which server this is for the keeper: 1 for the one that started it, then 2...
        self.attach = 1


def file_stem(name: str, incarnation: str) -> str:
    """A file name for a terminal's socket and state (names with odd characters go as hex)."""
    safe = name if re.fullmatch(r"[A-Za-z0-9_.]{1,64}", name) else "x" + name.encode().hex()[:64]
    return f"{safe}-{incarnation}"


def kept_dir(runtime_dir: str) -> Path:
    """``<runtime_dir>/termmux-kept``, made if needed; only this user may enter it."""
    path = Path(runtime_dir) / DIRNAME
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    st = path.lstat()
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid():
        raise OSError(f"{path} is not a directory of this user")
    if stat.S_IMODE(st.st_mode) != 0o700:
        os.chmod(path, 0o700)
    return path


def save_state(path: Path, saved: Saved) -> None:
    """Write a saved state (a JSON header line, then the history's bytes), mode 0600."""
    header = {
        "version": STATE_VERSION,
        "incarnation": saved.incarnation,
        "start": saved.start,
        "carry": saved.carry.hex(),
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(header).encode() + b"\n" + saved.data)
    os.replace(tmp, path)


def load_state(path: Path, incarnation: str) -> Saved | None:
    """A saved state, read and removed (it is good for one adoption); None when there is none
    or it is not of this ``incarnation`` of the terminal."""
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    path.unlink(missing_ok=True)
    head, _, data = raw.partition(b"\n")
    try:
        header = json.loads(head)
        if header.get("version") != STATE_VERSION or header.get("incarnation") != incarnation:
            return None
        return Saved(
            str(header["incarnation"]), int(header["start"]), data, bytes.fromhex(header["carry"])
        )
    except (ValueError, KeyError, TypeError):
        return None


class KeeperError(Exception):
    """A keeper could not be started or attached (``Kept.spawn``, ``Kept.connect``)."""


class Busy(KeeperError):
    """The keeper belongs to another running server."""


def _read_line(sock: socket.socket, lines: keeper.Lines, timeout: float) -> tuple[bytes, list[int]]:
    """The first control line from a blocking socket, and any fds that came with it."""
    fds: list[int] = []
    sock.settimeout(timeout)
    while True:
        data, got, _, _ = socket.recv_fds(sock, 4096, 4)
        fds.extend(got)
        if not data:
            for fd in fds:
                os.close(fd)
            raise KeeperError("the keeper closed its socket")
        found = lines.feed(data)
        if found:
            if len(found) > 1:
                raise KeeperError("the keeper said more than asked")
            return found[0], fds


class Kept:
    """The kept terminals of one server: starting them, their keepers' reports, letting go of
    them at a stop and adopting them at a start."""

    def __init__(self, directory: Path, log: logging.Logger) -> None:
        self.dir = directory
        self.log = log
        self.terms: dict[str, KeptTerm] = {}
        #: Called on the loop when a kept terminal's keeper reported its end or went away.
        self.on_end: Callable[[KeptTerm], None] = lambda term: None
        #: Called on the loop right after a kept terminal joined the manager (to adopt it).
        self.on_new: Callable[[KeptTerm], None] = lambda term: None
        #: The saved state of a kept terminal (set by the terminals' owner: history lives there).
        self.saving: Callable[[KeptTerm], Saved | None] = lambda term: None
        self._installed: Any = None

    # --- the manager ------------------------------------------------------------------

    def install(self, manager: Any) -> None:
        """Make the manager start new terminals under keepers and, at shutdown, let kept ones
        live on (jupyter_server_terminals' ``cleanup_terminals`` calls ``terminate_all``)."""
        if self._installed is manager:
            return
        self._installed = manager
        terminate_all = manager.terminate_all

        def new_named_terminal(**kwargs: Any) -> tuple[str, PtyWithClients]:
            name = kwargs.get("name") or manager._next_available_name()
            kwargs["name"] = name
            term = self.spawn(manager, name, kwargs)
            manager.terminals[name] = term
            manager.start_reading(term)
            asyncio.get_running_loop().call_soon(self.on_new, term)
            return name, term

        async def terminate_all_but_kept() -> None:
            self.release_all(manager)
            await terminate_all()

        manager.new_named_terminal = new_named_terminal
        manager.terminate_all = terminate_all_but_kept

    def spawn(self, manager: Any, name: str, kwargs: dict[str, Any]) -> KeptTerm:
        """Start a terminal under a new keeper, as terminado's ``new_terminal`` would start it."""
        options = dict(manager.term_settings)
        options["shell_command"] = manager.shell_command
        options.update(kwargs)
        argv = options["shell_command"]
        if isinstance(argv, str):
            argv = shlex.split(argv)
        env = manager.make_term_env(**options)
        incarnation = uuid.uuid4().hex[:16]
        path = self.dir / f"{file_stem(name, incarnation)}.sock"
        spec = {
            "name": name,
            "incarnation": incarnation,
            "argv": list(argv),
            "env": env,
            "cwd": options.get("cwd"),
            "rows": options.get("height"),
            "cols": options.get("width"),
            "socket": str(path),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyter_termmux.keeper"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # out of the server's process group: its ^C, its SIGHUP
            env={**os.environ, "PYTHONPATH": _package_root(os.environ.get("PYTHONPATH"))},
        )
        assert proc.stdin is not None and proc.stdout is not None
        try:
            proc.stdin.write(keeper.encode(spec))
            proc.stdin.close()
            ready, _, _ = select.select([proc.stdout], [], [], KEEPER_TIMEOUT)
            line = proc.stdout.readline() if ready else b""
        finally:
            proc.stdout.close()
            proc.wait()  # the keeper forked away: this is its first process, gone at once
        try:
            answer = keeper.decode(line)
        except ValueError as e:
            raise OSError(f"the terminal's keeper did not start: {line[:200]!r}") from e
        if answer["op"] != keeper.READY:
            raise OSError(f"could not start the terminal: {answer.get('error')}")
        term = self.connect(path)
        self.log.info(
            "termmux: session %s kept by a keeper (program pid %s, socket %s)",
            name,
            term.ptyproc.pid,
            path,
        )
        return term

    def connect(self, path: Path) -> KeptTerm:
        """Attach the keeper at ``path``: a terminal with our copy of its PTY."""
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        fds: list[int] = []
        try:
            sock.settimeout(KEEPER_TIMEOUT)
            connect_unix(sock, path)
            sock.sendall(keeper.encode({"op": keeper.ATTACH, "server": os.getpid()}))
            lines = keeper.Lines()
            line, fds = _read_line(sock, lines, KEEPER_TIMEOUT)
            try:
                msg = keeper.decode(line)
            except ValueError as e:
                raise KeeperError(f"not a keeper's answer: {line[:80]!r}") from e
            if msg["op"] == keeper.BUSY:
                raise Busy(f"held by the server with pid {msg.get('server')}")
            if msg["op"] != keeper.ATTACHED or len(fds) != 1:
                raise KeeperError(f"not a keeper's answer: {line[:80]!r}")
            name, incarnation, pid = msg.get("name"), msg.get("incarnation"), msg.get("pid")
            if not isinstance(name, str) or not isinstance(incarnation, str):
                raise KeeperError(f"not a keeper's answer: {line[:80]!r}")
            if not isinstance(pid, int):
                raise KeeperError(f"not a keeper's answer: {line[:80]!r}")
        except BaseException:
            for fd in fds:
                os.close(fd)
            sock.close()
            raise
        fd = fds[0]
        os.set_inheritable(fd, False)
        term = KeptTerm(name, incarnation, KeptProcess(pid, fd), sock, path)
        term.lines = lines
        attach = msg.get("attach")
        term.attach = attach if isinstance(attach, int) and attach > 0 else 1
        sock.setblocking(False)
        if msg.get("exit") is not None:
            term.ptyproc.ended(msg["exit"].get("code"), msg["exit"].get("signal"))
        self.terms[name] = term
        asyncio.get_running_loop().add_reader(sock.fileno(), self._from_keeper, term)
        return term

    # --- the keeper's reports ---------------------------------------------------------

    def _from_keeper(self, term: KeptTerm) -> None:
        try:
            data = term.link.recv(4096)
            lines = term.lines.feed(data) if data else []
        except BlockingIOError:
            return
        except (OSError, ValueError):
            data, lines = b"", []
        for line in lines:
            try:
                msg = keeper.decode(line)
            except ValueError:
                continue
            if msg["op"] == keeper.EXITED and not term.ptyproc.terminated:
                term.ptyproc.ended(msg.get("code"), msg.get("signal"))
                self.log.info(
                    "termmux: kept session %s: its keeper reports the program ended "
                    "(code %s, signal %s)",
                    term.term_name,
                    msg.get("code"),
                    msg.get("signal"),
                )
        if not data:
            self._unlink(term)
            if not term.ptyproc.terminated:
                # The keeper died (SIGKILL): nothing would reap or report the program now.
                self.log.warning(
                    "termmux: kept session %s lost its keeper; ending its program",
                    term.term_name,
                )
                try:
                    os.killpg(term.ptyproc.pid, 9)
                except OSError:
                    pass
                term.ptyproc.ended(None, "SIGKILL")
            self.on_end(term)

    def _unlink(self, term: KeptTerm) -> None:
        """Stop listening to a keeper."""
        if term.link.fileno() >= 0:
            asyncio.get_running_loop().remove_reader(term.link.fileno())
            term.link.close()
        if self.terms.get(str(term.term_name)) is term:
            del self.terms[str(term.term_name)]

    # --- a stop -----------------------------------------------------------------------

    def release_all(self, manager: Any) -> None:
        """Let go of every kept terminal that is still running (the server is stopping).
        Idempotent; what each needs saved comes from ``saving``."""
        for term in list(self.terms.values()):
            try:
                self.release(manager, term)
            except Exception:  # one terminal must not keep the server from stopping
                self.log.exception("termmux: could not let go of kept session %s", term.term_name)
                self._unlink(term)

    def release(self, manager: Any, term: KeptTerm) -> None:
        """Save a kept terminal's state, close our end of its PTY, leave its keeper."""
        name = str(term.term_name)
        saved = None if term.ptyproc.terminated else self.saving(term)
        if saved is None and isinstance(term.read_buffer, deque) and term.read_buffer:
            # never adopted by termmux: what terminado read is all there is
            text = "".join(term.read_buffer).encode("utf-8", "replace")
            saved = Saved(term.incarnation, 0, text, b"")
        if saved is not None:
            stem = term.socket_path.with_suffix(".state")
            try:
                save_state(stem, saved)
            except OSError as e:
                self.log.warning("termmux: could not save kept session %s: %s", name, e)
        fd = term.ptyproc.fd
        if fd >= 0:
            from tornado.ioloop import IOLoop

            IOLoop.current().remove_handler(fd)
            asyncio.get_running_loop().remove_reader(fd)
            asyncio.get_running_loop().remove_writer(fd)
            manager.ptys_by_fd.pop(fd, None)
        if manager.terminals.get(name) is term:
            del manager.terminals[name]
        term.ptyproc.close()
        self._unlink(term)
        self.log.info(
            "termmux: kept session %s left running under its keeper (%s)",
            name,
            "history saved" if saved else "nothing saved",
        )

    # --- a start ----------------------------------------------------------------------

    def adopt_all(self, manager: Any) -> list[KeptTerm]:
        """Attach every keeper in the folder and register its terminal with the manager, under
        its old name (a new one if the name is taken); stale sockets are removed, keepers held
        by another server are left to it."""
        adopted = []
        for path in sorted(self.dir.glob("*.sock")):
            try:
                term = self.connect(path)
            except Busy as e:
                self.log.warning(
                    "termmux: not adopting kept terminal %s: %s (two servers share the runtime "
                    "directory %s)",
                    path.name,
                    e,
                    self.dir.parent,
                )
                continue
            except (ConnectionRefusedError, FileNotFoundError):
                self.log.info("termmux: removing stale kept-terminal socket %s", path)
                path.unlink(missing_ok=True)
                path.with_suffix(".state").unlink(missing_ok=True)
                continue
            except (OSError, KeeperError) as e:
                self.log.warning("termmux: not adopting kept terminal %s: %s", path.name, e)
                continue
            name = str(term.term_name)
            if name in manager.terminals:
                del self.terms[name]
                name = manager._next_available_name()
                self.log.warning(
                    "termmux: kept session %s takes the name %s (its own is in use)",
                    term.term_name,
                    name,
                )
                term.term_name = name
                self.terms[name] = term
            term.saved = load_state(path.with_suffix(".state"), term.incarnation)
            if term.saved is None:
                # Nothing saved (the last server crashed): where its offsets ended is unknown,
                # so this server's start past any offset an earlier server of this keeper can
                # have given (each gets CRASH_OFFSET_STEP more): a client's ``since`` is then
                # never mistaken for a position in this server's history.
                term.saved = Saved(term.incarnation, term.attach * CRASH_OFFSET_STEP, b"", b"")
                term.repaint = True
            from datetime import datetime, timezone

            term.last_activity = datetime.now(timezone.utc)  # type: ignore[attr-defined]
            manager.terminals[name] = term
            adopted.append(term)
            self.log.info(
                "termmux: adopted kept session %s (program pid %s, %s)",
                name,
                term.ptyproc.pid,
                "after a crash: history lost" if term.repaint else "history restored",
            )
        return adopted


def connect_unix(sock: socket.socket, path: Path) -> None:
    """Connect to a Unix socket, through its folder's fd when the path is longer than a
    socket address holds (107 bytes; runtime directories can be deep)."""
    if len(os.fsencode(path)) < 100:
        sock.connect(str(path))
        return
    folder = os.open(path.parent, os.O_PATH | os.O_DIRECTORY)
    try:
        sock.connect(f"/proc/self/fd/{folder}/{path.name}")
    finally:
        os.close(folder)


def _package_root(pythonpath: str | None) -> str:
    """PYTHONPATH for the keeper: this package's folder first (a checkout is importable)."""
    root = str(Path(__file__).resolve().parent.parent)
    return os.pathsep.join([root] + ([pythonpath] if pythonpath else []))
