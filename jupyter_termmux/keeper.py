"""The keeper of one kept terminal (``TermMuxApp.keep_terminals``): a tiny stdlib-only program
that is its terminal's parent and outlives the Jupyter server.

The server starts it as ``python -m jupyter_termmux.keeper`` in a new session and writes the
terminal's spec to its stdin (one JSON line: ``name``, ``incarnation``, ``argv``, ``env``,
``cwd``, ``rows``, ``cols``, ``socket``). The keeper forks once more (so the server reaps its
child at once and the keeper belongs to no server), opens a PTY, starts the program on it,
listens on the Unix socket ``socket`` and answers ``ready`` (or ``failed``) on stdout.

The keeper never reads the terminal's output: it holds a copy of the PTY's master so that the
terminal survives while no server holds one, and hands that copy to a server over its socket
(``SCM_RIGHTS``); the server reads and writes the PTY itself. It reaps the program and reports
how it ended; then it exits. Output written while no server runs waits in the PTY.

Control protocol: JSON objects, one a line, with an ``op`` (the constants below). A server
sends ``attach``; the keeper answers ``attached`` with the master's fd attached, or ``busy``
when another server holds it (the socket is closed then). After ``attached`` the keeper sends
``exited`` when the program ends and exits. A server that leaves just closes its socket.
"""

from __future__ import annotations

import fcntl
import json
import os
import select
import signal
import socket
import struct
import sys
import termios
from typing import Any

#: Server -> keeper: ``{"op": "attach", "server": PID}``.
ATTACH = "attach"
#: Keeper -> server, with the PTY master attached: ``{"op": "attached", "name", "incarnation",
#: "pid", "attach", "exit": null | {"code", "signal"}}`` (``attach``: 1 for the first server,
#: 2 for the next...; ``exit``: the program ended while no server ran).
ATTACHED = "attached"
#: Keeper -> server, then the keeper closes the socket: ``{"op": "busy", "server": PID}``.
BUSY = "busy"
#: Keeper -> server: ``{"op": "exited", "code": int | null, "signal": str | null}``.
EXITED = "exited"
#: Keeper -> server on stdout at start: ``{"op": "ready", "pid": PID}`` or
#: ``{"op": "failed", "error": str}``.
READY = "ready"
FAILED = "failed"

#: Longest control line either side accepts.
MAX_LINE = 64 * 1024

#: Seconds a new connection has to send its ``attach``.
ATTACH_TIMEOUT = 5.0


def encode(msg: dict[str, Any]) -> bytes:
    """One control message as a line."""
    return json.dumps(msg, separators=(",", ":")).encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """One control line as a message; ValueError unless it is a JSON object with an ``op``."""
    msg = json.loads(line)
    if not isinstance(msg, dict) or not isinstance(msg.get("op"), str):
        raise ValueError(f"not a keeper message: {line[:80]!r}")  # noqa: TRY004  # callers catch one kind
    return msg


class Lines:
    """Splits a byte stream into control lines (at most ``MAX_LINE`` bytes each)."""

    def __init__(self) -> None:
        self._buf = b""

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines ``data`` ends; ValueError when a line grows past ``MAX_LINE``."""
        self._buf += data
        *lines, self._buf = self._buf.split(b"\n")
        if len(self._buf) > MAX_LINE:
            raise ValueError("control line too long")
        return lines


def peer_uid(sock: socket.socket) -> int:
    """The uid of the process at the other end of a Unix socket (``SO_PEERCRED``)."""
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return int(struct.unpack("3i", creds)[1])


def exit_of(status: int) -> dict[str, Any]:
    """``{"code", "signal"}`` of a ``waitpid`` status."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"SIG{sig}"
        return {"code": None, "signal": name}
    return {"code": os.WEXITSTATUS(status), "signal": None}


def spawn(spec: dict[str, Any]) -> tuple[int, int]:
    """Start the program on a new PTY as a session leader; (its pid, the PTY's master)."""
    master, slave = os.openpty()
    winsize = struct.pack("HHHH", int(spec.get("rows") or 24), int(spec.get("cols") or 80), 0, 0)
    fcntl.ioctl(master, termios.TIOCSWINSZ, winsize)
    errors_r, errors_w = os.pipe()  # closed by exec (O_CLOEXEC): EOF means it ran
    pid = os.fork()
    if pid == 0:
        try:
            os.close(master)
            os.close(errors_r)
            os.setsid()
            fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
            for fd in (0, 1, 2):
                os.dup2(slave, fd)
            if slave > 2:
                os.close(slave)
            for sig in (
                signal.SIGPIPE,
                signal.SIGHUP,
                signal.SIGINT,
                signal.SIGQUIT,
                signal.SIGCHLD,
            ):
                signal.signal(sig, signal.SIG_DFL)
            signal.pthread_sigmask(signal.SIG_SETMASK, set())
            if spec.get("cwd"):
                os.chdir(spec["cwd"])
            argv = [str(a) for a in spec["argv"]]
            os.execvpe(argv[0], argv, {str(k): str(v) for k, v in spec["env"].items()})
        except BaseException as e:  # noqa: BLE001  # whatever it was, the server hears it
            os.write(errors_w, f"{type(e).__name__}: {e}".encode())
        os._exit(127)
    os.close(slave)
    os.close(errors_w)
    error = b""
    while chunk := os.read(errors_r, 4096):
        error += chunk
    os.close(errors_r)
    if error:
        os.waitpid(pid, 0)
        os.close(master)
        raise OSError(error.decode(errors="replace"))
    return pid, master


class Keeper:
    """The keeper's state and loop: one program, one PTY master, at most one server."""

    def __init__(self, spec: dict[str, Any], pid: int, master: int, listener: socket.socket):
        self.spec = spec
        self.pid = pid
        self.master = master
        self.listener = listener
        self.owner: socket.socket | None = None
        self.owner_pid: int | None = None
        self.lines = Lines()
        self.exit: dict[str, Any] | None = None
        self.done = False
        self.attaches = 0
        self.wake_r, wake_w = os.pipe()
        os.set_blocking(self.wake_r, False)
        os.set_blocking(wake_w, False)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)

    def run(self) -> None:
        """Serve until the program ended and a server heard it."""
        self.reap()
        while not self.done:
            fds: list[Any] = [self.wake_r, self.listener]
            if self.owner is not None:
                fds.append(self.owner)
            ready, _, _ = select.select(fds, [], [])
            if self.owner is not None and self.owner in ready:
                self.from_owner()
            if self.wake_r in ready:
                while True:
                    try:
                        if not os.read(self.wake_r, 512):
                            break
                    except BlockingIOError:
                        break
                self.reap()
            if self.listener in ready and not self.done:
                self.accept()

    def reap(self) -> None:
        if self.exit is not None:
            return
        pid, status = os.waitpid(self.pid, os.WNOHANG)
        if pid == 0:
            return
        self.exit = exit_of(status)
        if self.owner is not None:
            self.send(self.owner, {"op": EXITED, **self.exit})
            self.done = True

    def accept(self) -> None:
        try:
            conn, _ = self.listener.accept()
        except OSError:
            return
        try:
            if peer_uid(conn) != os.getuid():
                conn.close()  # another user's process: not a word
                return
            conn.settimeout(ATTACH_TIMEOUT)
            lines = Lines()
            got: list[bytes] = []
            while not got:
                data = conn.recv(4096)
                if not data:
                    raise ValueError("closed before attach")
                got = lines.feed(data)
            msg = decode(got[0])
            if msg["op"] != ATTACH:
                raise ValueError(f"expected attach, got {msg['op']!r}")
            if self.owner is not None:  # answered once asked, so the asker reads it
                self.send(conn, {"op": BUSY, "server": self.owner_pid})
                conn.close()
                return
            conn.settimeout(None)
            reply = {
                "attach": self.attaches + 1,
                "op": ATTACHED,
                "name": self.spec["name"],
                "incarnation": self.spec["incarnation"],
                "pid": self.pid,
                "exit": self.exit,
            }
            socket.send_fds(conn, [encode(reply)], [self.master])
        except (OSError, ValueError):
            conn.close()
            return
        self.attaches += 1
        pid = msg.get("server")
        self.owner, self.owner_pid = conn, pid if isinstance(pid, int) else None
        self.lines = lines
        if self.exit is not None:
            self.done = True  # the server got the PTY and how its program ended

    def from_owner(self) -> None:
        assert self.owner is not None
        try:
            data = self.owner.recv(4096)
            self.lines.feed(data)  # nothing is asked after attach: read to notice the close
        except (OSError, ValueError):
            data = b""
        if not data:
            self.owner.close()
            self.owner = self.owner_pid = None

    def send(self, conn: socket.socket, msg: dict[str, Any]) -> None:
        try:
            conn.sendall(encode(msg))
        except OSError:
            pass


def listen(path: str) -> socket.socket:
    """A Unix socket at ``path`` that only this user may connect to (mode 0600). The keeper
    works in its folder and binds the bare name: a socket's path is limited to 107 bytes."""
    folder, name = os.path.split(path)
    os.chdir(folder)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        sock.bind(name)
    finally:
        os.umask(old)
    os.chmod(name, 0o600)
    sock.listen(4)
    return sock


def main() -> None:
    """Read the spec, leave the server, start the program, serve it."""
    spec = json.loads(sys.stdin.buffer.readline())
    if not spec.get("cwd"):
        spec["cwd"] = os.getcwd()  # the server's, as for terminals it starts itself
    if os.fork():  # the server reaps this one now; the keeper goes on under init
        os._exit(0)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    out = sys.stdout.buffer
    try:
        listener = listen(spec["socket"])
        try:
            pid, master = spawn(spec)
        except BaseException:
            os.unlink(spec["socket"])
            raise
    except Exception as e:  # noqa: BLE001  # told to the server, which raises it
        out.write(encode({"op": FAILED, "error": f"{type(e).__name__}: {e}"}))
        out.flush()
        os._exit(1)
    out.write(encode({"op": READY, "pid": pid}))
    out.flush()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    keeper = Keeper(spec, pid, master, listener)
    try:
        keeper.run()
    finally:
        try:
            os.unlink(spec["socket"])
        except OSError:
            pass
    os._exit(0)


if __name__ == "__main__":
    main()
