"""Flow control: a client that really stops reading pauses its session, bounds server memory, loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import time

import psutil
import pytest
from conftest import assert_contiguous, numbered, poll_until

from jupyter_termmux import policy

#: Output a socket may have handed to it and not yet written: its window and one frame.
HIGH = policy.Limits().socket_window + policy.V1_FRAME_BYTES
SLOW_TIMEOUT = 1.0


@pytest.fixture
def termmux_config():
    """A short grace (slow_subscriber_timeout)."""
    return {"slow_subscriber_timeout": SLOW_TIMEOUT}


def pin_send_buffer(client, size):
    """Fix the kernel send buffer of the server's side of ``client``'s socket (no autotuning)."""
    sock = client.transport.ws_connection.stream.socket
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)


class SessionProbe:
    """Records a session's flow-control events as they happen (not sampled), and wakes waiters.

    It listens on the router's public event hook (``Router.listeners``): the PTY's reads
    stopping and starting, and slow sockets detached.
    A poller sampling ``router.stats()`` every few ms could miss a short pause; this cannot.
    Install it right after the first attach, before anything congests.
    """

    def __init__(self, router, sid):
        self.session = router.sessions[sid]
        self.pty = self.session.pty
        self.pauses = self.resumes = self.slow = 0
        #: The most output any socket had handed to it and not yet written, at any event.
        self.max_unwritten = 0
        self._changed = asyncio.Event()

        def listen(event, name):
            if name != sid:
                return
            unwritten = [c.scheduler.unwritten for c in router.clients()]
            self.max_unwritten = max(self.max_unwritten, *unwritten, 0)
            if event == "paused":
                self.pauses += 1
            elif event == "resumed":
                self.resumes += 1
            elif event == "slow":
                self.slow += 1
            self._changed.set()

        router.listeners.append(listen)

    @property
    def reading(self):
        """Whether the PTY is being read now."""
        return self.pty.reading

    async def wait(self, cond, timeout, what):
        """Wait until ``cond()`` holds, re-checking at every recorded event."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not cond():
            self._changed.clear()
            remaining = deadline - asyncio.get_running_loop().time()
            try:
                await asyncio.wait_for(self._changed.wait(), max(remaining, 0))
            except asyncio.TimeoutError:
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {what} (pauses {self.pauses}, "
                    f"resumes {self.resumes}, slow {self.slow})"
                ) from None


async def test_stalled_reader_pauses_session_and_loses_nothing(
    connect, connect_raw, make_terminal, gen_script, router
):
    """A socket that stops reading during 30 MB of output pauses the session with the socket's buffer bounded, another session keeps streaming, and every byte arrives in order once it reads again."""
    n = 3_000_000  # 30 MB through the PTY
    sid, other = await make_terminal("flood"), await make_terminal("flowing")
    stalled = await connect_raw("stalled")
    await stalled.attach(sid, replay=False)
    probe = SessionProbe(router, sid)
    since = len(stalled.frames)
    stalled.stall()
    stalled.type(sid, f"python3 {gen_script.name} burst P {n}\r")
    await probe.wait(lambda: probe.pauses >= 1, 60, "the stalled session to pause")
    assert probe.max_unwritten <= HIGH, probe.max_unwritten

    # Another session on another socket streams while the first is stalled.
    fast = await connect("fast")
    await fast.attach(other, replay=False)
    mark = len(fast.frames)
    fast.type(other, f"python3 {gen_script.name} burst Q 200000\r")
    await fast.wait_output(other, "tm_end_Q_200000", timeout=60, since=mark)
    assert_contiguous(numbered(fast.text(other, mark), "Q"), 1, 200_000, "the other session")

    # A lone subscriber is never dropped as slow: it stays attached and paused, however long
    # it stalls (here for two graces: time is what the rule measures).
    await asyncio.sleep(2 * SLOW_TIMEOUT)
    stats = router.stats()
    assert stats["sessions"][sid]["paused"] and stats["sessions"][sid]["subscribers"] == 1, stats
    assert probe.resumes == 0, "the session was read again while its only socket stalled"
    assert probe.max_unwritten <= HIGH, probe.max_unwritten
    received_while_stalled = stalled.bytes_read

    stalled.resume()
    await stalled.wait_output(sid, f"tm_end_P_{n}", timeout=180, since=since)
    assert received_while_stalled < 10 * 1024 * 1024, "the stall did not hold the stream back"
    assert not stalled.of_type("session.detached", since), "a lone stalled subscriber was dropped"
    assert_contiguous(numbered(stalled.text(sid, since), "P"), 1, n, "the stalled socket")
    assert probe.max_unwritten <= HIGH, probe.max_unwritten
    await probe.wait(lambda: probe.reading, 10, "the session to be read again")


async def test_slow_subscriber_of_shared_session_is_detached(
    connect, connect_raw, make_terminal, gen_script, router
):
    """With one fast and one stalled socket on a session, the fast one keeps receiving once the grace (slow_subscriber_timeout) is spent and the stalled one gets session.detached reason slow."""
    n = 2_000_000  # 20 MB
    sid = await make_terminal("shared_flow")
    fast = await connect("fast")
    await fast.attach(sid, replay=False)
    fmark = len(fast.frames)
    slow = await connect_raw("slow")
    await slow.attach(sid, replay=False)
    probe = SessionProbe(router, sid)
    smark = len(slow.frames)
    slow.stall()

    fast.type(sid, f"python3 {gen_script.name} burst F {n}\r")
    await fast.wait_output(sid, f"tm_end_F_{n}", timeout=120, since=fmark)
    assert probe.pauses >= 1, "the stalled socket never paused the session"
    assert probe.max_unwritten <= HIGH, probe.max_unwritten
    assert_contiguous(numbered(fast.text(sid, fmark), "F"), 1, n, "the fast socket")
    assert router.stats()["sessions"][sid]["subscribers"] == 1, router.stats()

    slow.resume()
    detached = await slow.wait_type("session.detached", timeout=60, sessionId=sid)
    assert detached.get("reason") == "slow", detached
    cut = slow.index_of(detached)
    await slow.barrier()
    assert not slow.of_type("terminal.output", cut, sessionId=sid), "output after the detach"
    got = numbered(slow.text(sid, smark), "F")
    if got:  # what it got before the detach is an unbroken prefix of the stream
        assert_contiguous(got, 1, None, "the slow socket before its detach")
        assert got[-1] < n


async def test_terminal_deleted_while_paused_is_reported(
    connect_raw, make_terminal, gen_script, router, jp_fetch
):
    """A terminal deleted through the REST API while a stalled socket holds it paused leaves the terminal list, and the socket gets its output and session.exited when it reads again."""
    n = 2_000_000
    sid = await make_terminal("deleted_paused")
    stalled = await connect_raw("stalled_del")
    await stalled.attach(sid, replay=False)
    probe = SessionProbe(router, sid)
    since = len(stalled.frames)
    stalled.stall()
    stalled.type(sid, f"python3 {gen_script.name} burst D {n}\r")
    await probe.wait(lambda: probe.pauses >= 1, 60, "the session to pause")

    await jp_fetch("api", "terminals", sid, method="DELETE")

    async def listed() -> bool:
        names = [t["name"] for t in json.loads((await jp_fetch("api", "terminals")).body)]
        return sid in names

    deadline = time.monotonic() + 30
    while await listed():
        assert time.monotonic() < deadline, "the deleted terminal is still listed"
        await asyncio.sleep(0.1)
    stalled.resume()
    exited = await stalled.wait_type("session.exited", timeout=60, sessionId=sid)
    assert stalled.index_of(exited) > since
    assert router.stats()["sessions"].get(sid) is None, router.stats()


async def test_slow_timer_rearms_when_one_of_two_stalled_sockets_recovers(
    connect_raw, make_terminal, gen_script, router
):
    """Two stalled sockets hold a session past its grace; when one reads again, the other is detached as slow once the grace is spent and the recovered one gets the whole stream."""
    n = 1_000_000
    sid = await make_terminal("two_stalled")
    a, b = await connect_raw("stalled_a"), await connect_raw("stalled_b")
    await a.attach(sid, replay=False)
    await b.attach(sid, replay=False)
    # The premise is that neither stalled socket is ready (drained to its low mark). With autotuned kernel buffers, the server's loopback send buffer of one socket
    # could absorb most of a megabyte and make it ready by accident: pin both small.
    for client in router.clients():
        pin_send_buffer(client, 32 * 1024)
    probe = SessionProbe(router, sid)
    bmark = len(b.frames)
    a.stall()
    b.stall()
    b.type(sid, f"python3 {gen_script.name} burst R {n}\r")
    await probe.wait(lambda: probe.pauses >= 1, 60, "the session to pause")
    subs = list(router.sessions[sid].subscribers.values())
    ready = [sub.client.backlog(sub) <= router.limits.room // 2 for sub in subs]
    assert ready == [False, False], [sub.client.backlog(sub) for sub in subs]
    # Both hold it for two graces: with nobody else to read, nobody is detached (time is what
    # the rule measures).
    await asyncio.sleep(2 * SLOW_TIMEOUT)
    assert probe.slow == 0
    assert router.stats()["sessions"][sid]["subscribers"] == 2, router.stats()
    assert not a.of_type("session.detached") and not b.of_type("session.detached")

    b.resume()
    await b.wait_output(sid, f"tm_end_R_{n}", timeout=120, since=bmark)
    assert_contiguous(numbered(b.text(sid, bmark), "R"), 1, n, "the recovered socket")
    assert router.stats()["sessions"][sid]["subscribers"] == 1, router.stats()
    a.resume()
    detached = await a.wait_type("session.detached", timeout=60, sessionId=sid)
    assert detached.get("reason") == "slow", detached


async def test_input_to_a_program_that_does_not_read_is_bounded(connect, make_terminal):
    """Input to a program that never reads stdin queues up to a limit, then is refused with input-overflow, while input to another session still arrives."""
    blocked, other = await make_terminal("not_reading"), await make_terminal("still_typing")
    client = await connect("typist")
    await client.attach(blocked)
    await client.attach(other)
    since = len(client.frames)
    # stty -icanon: the tty line buffer does not absorb the input; sleep never reads it.
    client.type(blocked, "stty -icanon -echo; echo tm_ready_$((3*3)); sleep 600\r")
    await client.wait_output(blocked, "tm_ready_9", since=since)
    chunk = "x" * 60_000
    refused = None
    for _ in range(100):  # up to 6 MB, far past the PTY's buffer and the 1 MiB queue limit
        client.send({"type": "terminal.input", "sessionId": blocked, "data": chunk})
        errors = client.of_type("error", since, code="input-overflow")
        if errors:
            refused = errors[0]
            break
        await client.barrier()
    assert refused is not None and refused["sessionId"] == blocked, client.summary()
    # The other session's input is not stuck behind the blocked write.
    await client.run(other, "typed")
    # Ending the program fails the blocked write, which frees its input thread.
    closed = await client.request({"type": "session.close", "sessionId": blocked}, timeout=20)
    assert closed["type"] == "session.closed", closed


async def test_large_paste_arrives_whole_and_in_order(connect, make_terminal):
    """Input far larger than the PTY's buffer is written whole and in order, in pieces as the program reads it."""
    import hashlib

    sid = await make_terminal("paste")
    client = await connect("paster")
    await client.attach(sid)
    since = len(client.frames)
    size = 300_000
    client.type(sid, f"stty -icanon -echo; echo tm_go_$((4*4)); head -c {size} | md5sum\r")
    await client.wait_output(sid, "tm_go_16", since=since)
    payload = "".join(f"{i:07d}\n" for i in range(size // 8))
    assert len(payload) == size
    for start in range(0, size, 50_000):
        client.send(
            {"type": "terminal.input", "sessionId": sid, "data": payload[start : start + 50_000]}
        )
    digest = hashlib.md5(payload.encode()).hexdigest()
    await client.wait_output(sid, digest, timeout=30, since=since)


async def test_close_hangs_up_on_a_program_that_ignores_sighup(connect, make_terminal):
    """session.close of a terminal whose program ignores SIGHUP (as every program does under a
    server started with nohup) still closes it: once the shell is gone, the server hangs up its
    end instead of waiting for an EOF that never comes."""
    sid = await make_terminal("ignores_hup")
    client = await connect("closer")
    await client.attach(sid)
    since = len(client.frames)
    program = (
        "import os, signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
        "print('pid', os.getpid(), 'up', 6 * 7, flush=True); time.sleep(600)"
    )
    client.type(sid, f'python3 -c "{program}"\r')
    await client.wait_output(sid, "up 42", since=since)
    pid = int(re.search(r"pid (\d+) up 42", client.text(sid, since)).group(1))
    try:
        closed = await client.request({"type": "session.close", "sessionId": sid}, timeout=30)
        assert closed["type"] == "session.closed", closed
        await client.wait_type("session.exited", timeout=10, sessionId=sid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # it ignored the hang-up, as it was written to


IGNORES_HUP = (
    "import os, signal, time; signal.signal(signal.SIGHUP, signal.SIG_IGN); "
    "print('pid', os.getpid(), 'up', 6 * 7, flush=True); time.sleep(120)"
)


def _has_pidfd() -> bool:
    try:
        fd = os.pidfd_open(os.getpid())
    except (AttributeError, OSError):
        return False
    os.close(fd)
    return True


needs_pidfd = pytest.mark.skipif(
    not _has_pidfd(), reason="no pidfd_open (Linux 5.3+): only the EOF ends a session"
)


async def _start_ignoring_hup(client, sid, background=False):
    """Run a program that ignores SIGHUP in ``sid`` (in the background: ``&``); its pid."""
    since = len(client.frames)
    client.type(sid, f'python3 -c "{IGNORES_HUP}"{" &" if background else ""}\r')
    await client.wait_output(sid, "up 42", since=since)
    return int(re.search(r"pid (\d+) up 42", client.text(sid, since)).group(1))


def _kill(pid):
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@needs_pidfd
async def test_rest_delete_hangs_up_on_a_program_that_ignores_sighup(
    connect, make_terminal, jp_fetch
):
    """JupyterLab's "Shut Down" (REST DELETE) of a terminal whose program ignores SIGHUP: the
    shell is killed, and once it is gone the server hangs up, so the terminal leaves
    GET /api/terminals and its sockets hear session.exited (before: listed until the program
    ended by itself)."""
    sid = await make_terminal("rest_hup")
    client = await connect("rest")
    await client.attach(sid)
    pid = None
    try:
        pid = await _start_ignoring_hup(client, sid)
        await jp_fetch("api", "terminals", sid, method="DELETE")
        await client.wait_type("session.exited", timeout=15, sessionId=sid)
        listed = json.loads((await jp_fetch("api", "terminals")).body)
        assert sid not in [t["name"] for t in listed]
        os.kill(pid, 0)  # the program still runs: the hang-up ended the session, not its exit
    finally:
        _kill(pid)


@needs_pidfd
async def test_exit_with_a_background_job_ends_the_session(connect, make_terminal):
    """`exit` in a shell that left a job running in the background ends the session, as a
    terminal window closes when its shell exits: the job holds the PTY open, so no EOF comes;
    the server hangs up once the shell has been gone a moment."""
    sid = await make_terminal("exit_bg")
    client = await connect("exiter")
    await client.attach(sid)
    pid = None
    try:
        pid = await _start_ignoring_hup(client, sid, background=True)
        client.type(sid, "exit\r")
        exited = await client.wait_type("session.exited", timeout=15, sessionId=sid)
        assert exited.get("exitCode") == 0, exited
        os.kill(pid, 0)  # the job outlived the terminal
    finally:
        _kill(pid)


async def test_a_shell_reaped_before_adoption_still_ends_its_session(
    connect, make_terminal, term_manager, jp_root_dir
):
    """A terminal whose shell exited and was reaped before termmux adopted it (a classic
    JupyterLab terminal, then a termmux tab): a background job holds the PTY, so no EOF comes
    and no pidfd can watch the shell any more; adoption notices it is gone and hangs up."""
    sid = await make_terminal("reaped")
    ptyproc = term_manager.get_terminal(sid).ptyproc
    shell = psutil.Process(ptyproc.pid)
    pidfile = jp_root_dir / "tm_reaped.pid"
    pid = None
    try:
        ptyproc.write(f'python3 -c "{IGNORES_HUP}" & echo $! > {pidfile.name}; exit\r')
        await poll_until(lambda: shell.status() == psutil.STATUS_ZOMBIE, 10, "the shell's exit")
        pid = int(pidfile.read_text())
        assert not ptyproc.isalive()  # reaps the shell, as the classic terminal's checks do
        client = await connect("late")
        await client.attach(sid)
        exited = await client.wait_type("session.exited", timeout=15, sessionId=sid)
        assert exited.get("exitCode") == 0, exited
        os.kill(pid, 0)  # the job still holds the PTY: the hang-up ended the session
    finally:
        _kill(pid)


async def test_hang_up_first_reads_what_the_kernel_holds(connect, make_terminal, router):
    """A hang-up reads what the PTY still holds before it closes, paused or not: the last
    output of a shell that exited while its session was paused (flow control reads a paused
    PTY only a round a second) reaches the client."""
    sid = await make_terminal("hup_rest")
    client = await connect("rest")
    await client.attach(sid)
    pty = router.sessions[sid].pty
    shell = psutil.Process(pty.term.ptyproc.pid)
    pid = None
    try:
        pid = await _start_ignoring_hup(client, sid, background=True)
        since = len(client.frames)
        pty.pause()  # as flow control would; every output so far was written and credited
        client.type(sid, "printf 'tm_rest_%s\\n' $((6*7)); exit\r")
        await poll_until(lambda: shell.status() == psutil.STATUS_ZOMBIE, 10, "the shell's exit")
        pty.hang_up()
        await client.wait_type("session.exited", timeout=10, sessionId=sid)
        assert "tm_rest_42" in client.text(sid, since)
    finally:
        _kill(pid)
