"""Contract tests: each assumption the adapter makes about terminado, jupyter_server_terminals
and ptyprocess, checked by what those libraries do (real managers, PTYs, shells and sockets),
so that an upgrade which breaks one fails here and not far away; and the adapter's client-list
interface (``Pty.add_subscriber`` and co.) on real terminals."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
from datetime import timedelta
from typing import Any

import ptyprocess
import terminado
from client import Client
from conftest import SHELL, poll_until
from jupyter_server._tz import utcnow
from terminado import management
from tornado.httpclient import HTTPRequest
from tornado.ioloop import IOLoop
from tornado.websocket import websocket_connect

from benchmarks.server import JupyterServer


async def _bare_terminal() -> tuple[management.NamedTermManager, str, Any]:
    """A terminal of a plain terminado manager (no server, no adoption), on this loop."""
    mgr = management.NamedTermManager(shell_command=SHELL)
    name, term = mgr.new_named_terminal()
    return mgr, name, term


def _buffered(term: Any) -> str:
    return "".join(term.read_buffer)


def test_terminado_reads_each_pty_through_a_replaceable_loop_handler() -> None:
    """A plain NamedTermManager keeps each terminal by name (``terminals``) and by fd
    (``ptys_by_fd``) and reads its PTY through an IOLoop handler on the fd into ``read_buffer``;
    a handler put in its place on that fd gets the output instead (what adoption does)."""

    async def scenario() -> None:
        mgr, name, term = await _bare_terminal()
        fd = term.ptyproc.fd
        try:
            assert mgr.terminals[name] is term and mgr.ptys_by_fd[fd] is term
            term.ptyproc.write("echo tm_$((6*7))\n")
            await poll_until(lambda: "tm_42" in _buffered(term), 10, "terminado's read")
            loop = IOLoop.current()
            got = bytearray()
            loop.remove_handler(fd)
            loop.add_handler(fd, lambda fd, _events: got.extend(os.read(fd, 65536)), loop.READ)
            term.ptyproc.write("echo tm_$((7*7))\n")
            await poll_until(lambda: b"tm_49" in got, 10, "the replacing handler's read")
            assert "tm_49" not in _buffered(term)
            loop.remove_handler(fd)
            loop.add_handler(fd, mgr.pty_read, loop.READ)
        finally:
            await mgr.shutdown()

    asyncio.run(scenario())


def test_eof_forgets_the_terminal_by_name_and_fd() -> None:
    """When the shell exits, terminado's EOF path drops the terminal from ``terminals`` and
    ``ptys_by_fd`` (adoption's own EOF path must do the same)."""

    async def scenario() -> None:
        mgr, name, term = await _bare_terminal()
        fd = term.ptyproc.fd
        term.ptyproc.write("exit\n")
        await poll_until(
            lambda: name not in mgr.terminals and fd not in mgr.ptys_by_fd, 10, "the EOF"
        )
        await mgr.shutdown()

    asyncio.run(scenario())


def test_resize_to_smallest_sizes_the_pty_from_its_clients_size() -> None:
    """``PtyWithClients`` has ``clients`` and ``ptyproc``; ``resize_to_smallest`` sizes the
    PTY from each client's ``size`` (rows, cols), which adoption's subscribers provide."""

    async def scenario() -> None:
        mgr, _, term = await _bare_terminal()
        try:

            class Sized:
                size = (21, 71)

            term.clients.append(Sized())
            term.resize_to_smallest()
            assert term.ptyproc.getwinsize() == (21, 71)
        finally:
            await mgr.shutdown()

    asyncio.run(scenario())


async def _classic_output(ws: Any, needle: str) -> None:
    """Read a classic terminal socket until its stdout holds ``needle``."""
    seen = ""
    while needle not in seen:
        msg = await asyncio.wait_for(ws.read_message(), 30)
        assert msg is not None, f"classic socket closed before {needle!r}"
        kind, *rest = json.loads(msg)
        if kind == "stdout":
            seen += rest[0]


async def test_classic_socket_replays_history_takes_input_and_resizes_on_close(
    make_terminal: Any, router: Any, jp_ws_fetch: Any
) -> None:
    """JupyterLab's own terminal socket types into the shell, a second one opened later replays
    what the first saw (terminado replays ``read_buffer``, which adoption makes the history),
    and closing the one that sized the PTY last hands the size back to the latest one left
    (terminado calls ``resize_to_smallest`` on close, which adoption replaces)."""
    sid = await make_terminal("contract_classic_io")
    pty = router.terminals.get(sid)
    first = await jp_ws_fetch("terminals", "websocket", sid)
    await first.write_message(json.dumps(["stdin", "echo tm_$((6*7))\r"]))
    await _classic_output(first, "tm_42")
    second = await jp_ws_fetch("terminals", "websocket", sid)
    await _classic_output(second, "tm_42")  # replayed on open
    view = View(None, None)
    pty.add_subscriber(view)
    pty.resize(view, 30, 100)
    await second.write_message(json.dumps(["set_size", 40, 120]))
    winsize = pty.term.ptyproc.getwinsize
    await poll_until(lambda: winsize() == (40, 120), 10, "the classic socket's size")
    second.close()
    await poll_until(lambda: winsize() == (30, 100), 10, "the size of the latest one left")
    pty.remove_subscriber(view)
    first.close()


async def test_create_names_the_terminal_and_its_environment_has_the_size(
    term_manager: Any, jp_root_dir: Any
) -> None:
    """``TerminalManager.create(name=, cwd=)`` returns a model with that name and the terminal
    under it; ``make_term_env(height=, width=)`` gives the shell LINES and COLUMNS."""
    model = term_manager.create(name="contract_model", cwd=str(jp_root_dir))
    assert model["name"] == "contract_model" and "contract_model" in term_manager.terminals
    env = term_manager.make_term_env(height=20, width=70)
    assert (env["LINES"], env["COLUMNS"]) == ("20", "70")
    await term_manager.terminate("contract_model", force=True)


async def test_the_culler_goes_by_last_activity(make_terminal: Any, term_manager: Any) -> None:
    """The culler ends a terminal whose ``last_activity`` (which the adapter stamps on output
    and input) is older than ``cull_inactive_timeout``, and keeps a recent one."""
    old, recent = await make_terminal("contract_old"), await make_terminal("contract_recent")
    term_manager.cull_inactive_timeout = 600
    term_manager.terminals[old].last_activity = utcnow() - timedelta(hours=1)
    for name in (old, recent):
        await term_manager._cull_inactive_terminal(name)
    assert old not in term_manager.terminals and recent in term_manager.terminals


def test_max_terminals_reached_is_raised_by_create() -> None:
    """The manager's limit is terminado's MaxTerminalsReached (imported, not matched by name)."""
    assert issubclass(management.MaxTerminalsReached, Exception)


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


async def test_a_terminal_started_by_a_server_ignoring_ctrl_c_gets_it_back() -> None:
    """A server started as a script's background job ignores SIGINT and SIGQUIT (POSIX), and
    exec keeps an ignored signal ignored: Ctrl-C did nothing to the programs run in its
    terminals. A real server started so (the dispositions inherited from this process) runs a
    program in a terminal created through the REST API with both at their defaults."""
    before = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)}
    try:
        server = JupyterServer([])
        await server.start()
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
    try:
        await server.create_terminals(["ctrlc"])
        ws = await websocket_connect(
            HTTPRequest(server.ws + "api/termmux/socket", headers=server.headers),
            subprotocols=["termmux.v2"],
        )
        client = Client(ws, "ctrlc")
        channel = (await client.attach("ctrlc"))["channel"]
        await assert_interrupts_at_default(client, "ctrlc", channel)
        await client.close()
    finally:
        await server.stop()


async def test_a_loaded_server_that_was_never_started_gives_ctrl_c_back_too(
    connect_v2: Any, make_terminal: Any
) -> None:
    """The same in a server loaded but never started (pytest-jupyter's, in this process, which
    a CI job run in the background starts with SIGINT and SIGQUIT ignored): a terminal created
    through the REST API runs its programs with both at their defaults. Without it, a test's
    Ctrl-C left a `yes` flood running for good."""
    client = await connect_v2()
    before = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGQUIT)}
    try:
        sid = await make_terminal()
    finally:
        for sig, old in before.items():
            signal.signal(sig, old)
    channel = (await client.attach(sid))["channel"]
    await assert_interrupts_at_default(client, sid, channel)


async def assert_interrupts_at_default(client: Client, sid: str, channel: int) -> None:
    """A program run in terminal ``sid`` has SIGINT and SIGQUIT at their defaults (not ignored):
    Ctrl-C and Ctrl-\\ reach it."""
    client.type(sid, "grep SigIgn /proc/self/status\r")
    await client.wait_text(channel, r"SigIgn:\s*([0-9a-f]+)\r")
    found = re.search(rb"SigIgn:\s*([0-9a-f]+)\r", client.stream(channel))
    assert found is not None
    ignored = int(found.group(1), 16)
    assert not ignored & (1 << (signal.SIGINT - 1)), hex(ignored)
    assert not ignored & (1 << (signal.SIGQUIT - 1)), hex(ignored)
