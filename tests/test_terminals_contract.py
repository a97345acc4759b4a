"""Contract tests: each assumption ``terminals.py`` makes about terminado, jupyter_server_terminals
and ptyprocess, pinned by name, so that an upgrade which breaks one fails here and not far away;
and the adapter's client-list interface (``Pty.add_subscriber`` and co.) on real terminals."""

from __future__ import annotations

import inspect
import json
from typing import Any

import ptyprocess
import terminado
import terminado.websocket as tws
from conftest import poll_until
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


def test_classic_socket_sizes_through_resize_to_smallest_and_types_through_stdin_method() -> None:
    """A classic socket's set_size sets its ``size`` and calls the terminal's
    ``resize_to_smallest`` (so does its close), and its stdin goes through its own
    ``stdin_to_ptyproc`` on the loop: the adapter replaces the first on the adopted terminal
    and wraps the second per socket to apply the latest writer's size."""
    on_message = inspect.getsource(tws.TermSocket.on_message)
    assert "self.size = " in on_message and "self.terminal.resize_to_smallest()" in on_message
    assert "self.stdin_to_ptyproc(" in on_message
    assert "resize_to_smallest()" in inspect.getsource(tws.TermSocket.on_close)
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


# --- the adapter's client list, on real terminals of a real server ------------------------------


class View:
    """A subscriber as the adapter sees one: a view size, nothing else (``pty.Member``)."""

    def __init__(self, rows: int | None, cols: int | None) -> None:
        self.size = (rows, cols)


async def test_latest_writer_sizes_the_pty_with_classic_sockets(
    make_terminal: Any, router: Any, jp_ws_fetch: Any
) -> None:
    """The PTY takes the size of whoever resized or typed last, subscribers and JupyterLab's
    own terminal sockets alike; removed, a subscriber leaves the PTY at the size of the most
    recent one left. Adding or removing it twice, or typing with no known size, changes
    nothing; every change is reported (``on_resize``) and kept in history."""
    sid = await make_terminal("contract_size")
    pty = router.terminals.get(sid)
    winsize = pty.term.ptyproc.getwinsize
    reported: list[tuple[int, int]] = []
    pty.on_resize = lambda rows, cols: reported.append((rows, cols))
    classic = await jp_ws_fetch("terminals", "websocket", sid)
    await classic.write_message(json.dumps(["set_size", 40, 120]))
    await poll_until(lambda: winsize() == (40, 120), 10, "the classic socket's size")
    view, unsized = View(None, None), View(None, None)
    pty.add_subscriber(view)
    pty.add_subscriber(view)
    pty.add_subscriber(unsized)
    assert router.terminals.client_count(sid) == 3
    assert winsize() == (40, 120)  # joining is not activity
    pty.resize(view, 30, 100)
    assert winsize() == (30, 100)  # larger or smaller: the latest wins
    pty.typed(unsized)
    assert winsize() == (30, 100)  # a view of no known size does not count
    await classic.write_message(json.dumps(["stdin", " "]))
    await poll_until(lambda: winsize() == (40, 120), 10, "the classic socket's input")
    pty.typed(view)
    assert winsize() == (30, 100)
    await classic.write_message(json.dumps(["set_size", 41, 121]))
    await poll_until(lambda: winsize() == (41, 121), 10, "the classic socket's new size")
    pty.resize(view, 30, 100)
    pty.remove_subscriber(view)
    assert winsize() == (41, 121)  # the most recent one left
    pty.remove_subscriber(view)
    pty.remove_subscriber(unsized)
    assert router.terminals.client_count(sid) == 1
    assert reported == [(40, 120), (30, 100), (40, 120), (30, 100), (41, 121), (30, 100), (41, 121)]
    assert pty.history.size_at(pty.history.end) == (41, 121)
    classic.close()


async def test_classic_clients_counts_jupyterlab_sockets_not_subscribers(
    connect: Any, make_terminal: Any, router: Any, jp_ws_fetch: Any
) -> None:
    """``classic_clients`` counts JupyterLab's own terminal sockets on a terminal and none of
    termmux's subscribers, whether a termmux socket's attach or the adapter put them there."""
    sid = await make_terminal("contract_classic")
    client = await connect()
    await client.attach(sid)
    pty = router.terminals.get(sid)
    view = View(None, None)
    pty.add_subscriber(view)
    assert (pty.classic_clients(), router.terminals.client_count(sid)) == (0, 2)
    classic = await jp_ws_fetch("terminals", "websocket", sid)
    await poll_until(lambda: pty.classic_clients() == 1, 10, "the classic socket's open")
    assert router.terminals.client_count(sid) == 3
    classic.close()
    await poll_until(lambda: pty.classic_clients() == 0, 10, "the classic socket's close")
    pty.remove_subscriber(view)
    assert router.terminals.client_count(sid) == 1  # the attached termmux socket


async def test_a_subscriber_leaves_an_ended_terminal_quietly(
    make_terminal: Any, router: Any
) -> None:
    """Removing a subscriber from a terminal that ended (its PTY closed) takes it off the client
    list and sizes nothing: terminado would otherwise size the closed PTY for the one left."""
    sid = await make_terminal("contract_ended")
    pty = router.terminals.get(sid)
    first, second = View(30, 100), View(20, 80)
    pty.add_subscriber(first)
    pty.add_subscriber(second)
    await router.terminals.terminate(sid)
    assert pty.fd == -1
    pty.remove_subscriber(second)
    assert [c for c in pty.term.clients if isinstance(c, View)] == [first]
    pty.remove_subscriber(first)
    assert pty.term.clients == []
