"""Contract tests: each assumption ``terminals.py`` makes about terminado, jupyter_server_terminals
and ptyprocess, pinned by name, so that an upgrade which breaks one fails here and not far away."""

from __future__ import annotations

import inspect
from typing import Any

import ptyprocess
import terminado
import terminado.websocket as tws
from jupyter_server_terminals.terminalmanager import TerminalManager
from terminado import management


def test_manager_keeps_terminals_by_name_and_pty_by_fd() -> None:
    """NamedTermManager holds ``terminals`` (name -> PtyWithClients) and ``ptys_by_fd``."""
    src = inspect.getsource(management.NamedTermManager.__init__)
    assert "self.terminals" in src
    assert "self.ptys_by_fd" in inspect.getsource(management.TermManagerBase.__init__)


def test_terminado_reads_through_one_ioloop_handler_per_fd() -> None:
    """start_reading registers one IOLoop handler on ptyproc.fd, which adoption replaces."""
    src = inspect.getsource(management.TermManagerBase.start_reading)
    assert "add_handler(fd, self.pty_read" in src and "ptys_by_fd[fd]" in src


def test_eof_handling_removes_the_terminal_by_name() -> None:
    """on_eof drops ptys_by_fd[fd] and terminals[name]: adoption's EOF path does the same."""
    assert "del self.ptys_by_fd[fd]" in inspect.getsource(management.TermManagerBase.on_eof)
    assert "self.terminals.pop(name" in inspect.getsource(management.NamedTermManager.on_eof)


def test_pty_with_clients_has_the_fields_adoption_uses() -> None:
    """PtyWithClients has clients, read_buffer and ptyproc; resize_to_smallest reads client.size."""
    src = inspect.getsource(management.PtyWithClients)
    for name in ("self.clients", "self.read_buffer", "self.ptyproc"):
        assert name in src
    assert "client.size" in inspect.getsource(management.PtyWithClients.resize_to_smallest)


def test_classic_socket_replays_read_buffer_copy_and_writes_through_ptyproc_write() -> None:
    """TermSocket.open replays read_buffer.copy() (strings) and stdin goes to ptyproc.write."""
    assert "read_buffer.copy()" in inspect.getsource(tws.TermSocket.open)
    assert "ptyproc.write(" in inspect.getsource(tws.TermSocket.stdin_to_ptyproc)
    for hook in ("on_pty_read", "on_pty_died"):
        assert hasattr(tws.TermSocket, hook)


def test_max_terminals_reached_is_raised_by_create() -> None:
    """The manager's limit is terminado's MaxTerminalsReached (imported, not matched by name)."""
    assert issubclass(management.MaxTerminalsReached, Exception)


def test_create_takes_name_cwd_and_size_and_returns_a_model() -> None:
    """TerminalManager.create(**kwargs) -> {'name': ...}; new_named_terminal honours 'name'."""
    assert "model" in inspect.getsource(TerminalManager.create)
    assert 'kwargs["name"]' in inspect.getsource(management.NamedTermManager.new_named_terminal)
    env = inspect.signature(management.TermManagerBase.make_term_env).parameters
    assert {"height", "width"} <= set(env)


def test_culler_reads_last_activity() -> None:
    """The culler compares term.last_activity, which the adapter stamps on output and input."""
    assert "term.last_activity" in inspect.getsource(TerminalManager._cull_inactive_terminal)


def test_ptyprocess_reports_exit_code_and_signal_through_isalive() -> None:
    """ptyprocess has fd, fileobj, closed, pid; isalive() reaps and sets exitstatus/signalstatus
    (the adapter closes fileobj itself and polls isalive on the loop instead of close())."""
    import signal
    import time

    done = ptyprocess.PtyProcess.spawn(["true"])
    killed = ptyprocess.PtyProcess.spawn(["sleep", "30"])
    for attr in ("fd", "fileobj", "closed", "pid", "setwinsize", "getwinsize"):
        assert hasattr(done, attr), attr
    killed.kill(signal.SIGKILL)
    for proc in (done, killed):
        proc.fileobj.close()
        deadline = time.monotonic() + 10
        while proc.isalive():
            assert time.monotonic() < deadline
            time.sleep(0.01)
    assert (done.exitstatus, done.signalstatus) == (0, None)
    assert (killed.exitstatus, killed.signalstatus) == (None, signal.SIGKILL)


def test_versions_in_the_tested_range(record_property: Any) -> None:
    """The adapter was written against terminado 0.18 and ptyprocess 0.7."""
    record_property("terminado", terminado.__version__)
    assert terminado.__version__.split(".")[:2] == ["0", "18"]
