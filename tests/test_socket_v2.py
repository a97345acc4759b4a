"""Protocol v2 against a real server, real PTYs and real sockets: negotiation, binary frames
with offsets, lossless resume, truncation, replays that type nothing, full-screen restore,
and credit."""

from __future__ import annotations

import asyncio
import itertools
import re
from typing import Any

import pytest
from client import TIMEOUT, Client
from conftest import poll_until

from jupyter_termmux import frames, policy, screen


async def test_negotiation_hello_and_v1_fallback(connect_v2: Any, make_terminal: Any) -> None:
    """Offering termmux.v2 gets the subprotocol and a hello first; offering nothing gets v1."""
    client = await connect_v2()
    hello = await client.until(lambda: client.control[:1], "hello")
    assert client.ws.selected_subprotocol == "termmux.v2"
    assert hello[0]["type"] == "hello" and hello[0]["protocol"] == 2
    assert {"historyLimit", "window", "ackBytes", "maxMessageSize"} <= set(hello[0]["limits"])
    assert hello[0]["limits"]["frameBytes"] == policy.V2_FRAME_BYTES
    old = await connect_v2(v2=False)
    sid = await make_terminal("nego")
    answer = await old.attach(sid)
    assert old.ws.selected_subprotocol is None and "channel" not in answer
    assert old.control[0]["type"] == "session.attached"  # no hello on v1


async def test_an_attach_answer_comes_before_its_output(
    connect_v2: Any, make_terminal: Any
) -> None:
    """Attaching to a session whose history holds a little output (a replay under 1 KB, which
    the scheduler counts as urgent): the answer goes out before any output of the session, on
    v2 (the client learns the channel from it) and on v1."""
    first = await connect_v2()
    sid = await make_terminal("order")
    a = await first.attach(sid)
    first.type(sid, "echo ORDER_$((6*7))\r")
    await first.wait_text(a["channel"], r"ORDER_42")
    late = await connect_v2()
    b = await late.attach(sid, replay=True)
    await late.wait_text(b["channel"], r"ORDER_42")
    assert late.sequence.index("session.attached") < late.sequence.index(f"frame:{b['channel']}")
    old = await connect_v2(v2=False)
    await old.attach(sid, replay=True)
    await old.until(lambda: "terminal.output" in old.sequence, "the v1 replay")
    assert old.sequence.index("session.attached") < old.sequence.index("terminal.output")


async def test_binary_output_has_contiguous_offsets_and_whole_characters(
    connect_v2: Any, make_terminal: Any
) -> None:
    """Output arrives as binary frames whose offsets add up, never splitting a character."""
    client = await connect_v2()
    sid = await make_terminal("bin")
    attached = await client.attach(sid)
    ch = attached["channel"]
    line = "ä ö € 𝄞 " * 10
    client.type(sid, f'for i in $(seq 1 3000); do echo "$i {line}"; done; echo DONE_$((6*7))\r')
    await client.wait_text(ch, r"DONE_42")
    data = client.contiguous(ch, attached["offset"], chars=True).decode()
    # bash turns bracketed paste off before running the command: "ESC[?2004l\r" then output.
    found = re.findall(r"(?m)(?:^|\r)(\d+) (.*)\r$", data)
    assert [(int(n), rest) for n, rest in found] == [(i, line) for i in range(1, 3001)]


async def test_since_inside_a_character_takes_the_truncated_path(
    connect_v2: Any, make_terminal: Any
) -> None:
    """A since one byte into a two-byte character is no offset the server gave: the answer
    says truncated (with a preamble) and no payload starts with a continuation byte; the
    offset just before that character is honoured."""
    client = await connect_v2()
    sid = await make_terminal("utf8since")
    a = await client.attach(sid)
    client.type(sid, "echo \u00c9T\u00c9_$((6*7))\r")
    await client.wait_text(a["channel"], "\u00c9T\u00c9_42")
    data = client.contiguous(a["channel"], a["offset"], chars=True)
    at = a["offset"] + data.rindex("\u00c9T\u00c9_42".encode()) + 1  # inside the first É
    inside = await connect_v2()
    b = await inside.attach(sid, since=at, incarnation=a["incarnation"])
    assert b["truncated"] is True and "preamble" in b, b
    await inside.wait_text(b["channel"], "\u00c9T\u00c9_42")
    inside.contiguous(b["channel"], b["offset"], chars=True)  # whole characters only
    before = await connect_v2()
    c = await before.attach(sid, since=at - 1, incarnation=a["incarnation"])
    assert c["truncated"] is False and c["offset"] == at - 1, c


async def test_resume_with_since_is_lossless_through_a_flood(
    connect_v2: Any, make_terminal: Any, jp_serverapp: Any
) -> None:
    """A socket dropped mid-flood resumes with since: every line exactly once, in order."""
    first = await connect_v2()
    sid = await make_terminal("resume")
    a = await first.attach(sid)
    first.type(sid, "seq 1 300000; echo END_$((6*7))\r")
    await first.wait_text(a["channel"], r"\n2000\r")
    got = first.contiguous(a["channel"], a["offset"], chars=True)
    await first.close()  # dropped without detaching: a reservation holds the history
    router = jp_serverapp.web_app.settings["termmux_router"]
    # The server saw the drop and holds a reservation; the program runs on meanwhile, until
    # history would pass what the dropped client had (the PTY is then paused for it).
    await poll_until(
        lambda: router.stats()["sessions"][sid]["reservations"] == 1, TIMEOUT, "a reservation"
    )
    await poll_until(
        lambda: router.stats()["sessions"][sid]["paused"], TIMEOUT, "the reservation to hold"
    )
    second = await connect_v2()
    b = await second.attach(sid, since=a["offset"] + len(got), incarnation=a["incarnation"])
    assert b["truncated"] is False and "preamble" not in b
    assert b["offset"] == a["offset"] + len(got)
    await second.wait_text(b["channel"], r"END_42", timeout=60)
    whole = got + second.contiguous(b["channel"], b["offset"], chars=True)
    numbers = [int(x) for x in re.findall(rb"(?m)(?:^|\r)(\d+)\r$", whole)]
    assert numbers == list(range(1, 300001))


class TestWithoutReservation:
    """A small history and no resume_hold, so that history moves past a dropped client."""

    @pytest.fixture
    def termmux_config(self) -> dict[str, Any]:
        return {"history_limit": 200_000, "window": 64 * 1024, "resume_hold": 0.0}

    async def test_a_late_resume_is_truncated_with_a_preamble(
        self, connect_v2: Any, make_terminal: Any
    ) -> None:
        """With history moved past `since`, the answer says truncated and replays from history."""
        await _late_resume(connect_v2, make_terminal)


async def _late_resume(connect_v2: Any, make_terminal: Any) -> None:
    first = await connect_v2()
    sid = await make_terminal("trunc")
    a = await first.attach(sid)
    await first.close()
    other = await connect_v2()
    o = await other.attach(sid, replay=False)
    other.type(sid, "printf '\\033[?2004h'; seq 1 100000; echo MARK_$((6*7))\r")
    await other.wait_text(o["channel"], r"MARK_42", timeout=60)
    late = await connect_v2()
    b = await late.attach(sid, since=a["offset"], incarnation=a["incarnation"])
    assert b["truncated"] is True and "\x1b[?2004h" in b["preamble"]
    await late.wait_text(b["channel"], r"MARK_42")
    assert {f.type for f in late.outputs} == {frames.FrameType.REPLAY}


async def test_replay_types_nothing(connect_v2: Any, make_terminal: Any) -> None:
    """Terminal queries in replayed output are blanked; live they pass through untouched."""
    live = await connect_v2()
    sid = await make_terminal("queries")
    a = await live.attach(sid)
    live.type(sid, "printf 'Q1\\033[6nQ2\\033[cQ3\\033]11;?\\007'; echo Q_$((2+2))\r")
    await live.wait_text(a["channel"], r"Q_4")
    assert b"\x1b[6n" in live.stream(a["channel"])
    later = await connect_v2()
    b = await later.attach(sid)
    await later.wait_text(b["channel"], r"Q_4")
    replayed = later.stream(b["channel"], kinds=(frames.FrameType.REPLAY,))
    assert b"Q1\0\0\0\0Q2\0\0\0Q3" in replayed
    assert b"\x1b[6n" not in replayed and b"\x1b[c" not in replayed
    assert b"\x1b]11;?" not in replayed


async def _ack_a_few(client: Client) -> None:
    """Acknowledge 1 to 7 bytes at a time of what arrived, as a page that returns credit in
    crumbs does: the server's frames shrink to a few bytes."""
    sizes = itertools.cycle(range(1, 8))
    while not client.closed.is_set():
        await asyncio.sleep(0.001)
        for channel, n in list(client.unacked.items()):
            if n:
                k = min(n, next(sizes))
                client.send({"type": "ack", "channel": channel, "bytes": k})
                client.unacked[channel] = n - k


class TestSmallCredit:
    """A window of 64 bytes, so that a client acknowledging a few bytes at a time gets frames of
    a few bytes."""

    @pytest.fixture
    def termmux_config(self) -> dict[str, Any]:
        return {"window": 64}

    async def test_a_replay_in_crumbs_types_nothing(
        self, connect_v2: Any, make_terminal: Any
    ) -> None:
        """Replayed a few bytes per frame, queries of every kind are still blanked whole, and
        the replay is the session's output byte for byte otherwise."""
        live = await connect_v2()
        sid = await make_terminal("crumbs")
        a = await live.attach(sid)
        unit = (
            "Q\\033[6n\\033[31m\u00e9\\033[0m\\033[c\\033]11;?\\007\\033P+q544e\\033\\\\"
            "\\033[?2004$p\\033P$qm\\033\\\\\\033]10;?\\033\\\\\\033[>c\U0001d11e\\033[18t\\n"
        )
        live.type(sid, f"for i in $(seq 20); do printf '{unit}'; done; echo END_$((6*7))\r")
        await live.wait_text(a["channel"], r"END_42\r")
        assert live.stream(a["channel"]).count(b"\x1b[6n") == 20
        slow = await connect_v2(ack=False)
        acking = asyncio.ensure_future(_ack_a_few(slow))
        try:
            b = await slow.attach(sid)
            await slow.wait_text(b["channel"], r"END_42\r", timeout=60)
        finally:
            acking.cancel()
        replayed = slow.stream(b["channel"], kinds=(frames.FrameType.REPLAY,))
        sizes = [len(f.payload) for f in slow.outputs if f.type == frames.FrameType.REPLAY]
        assert max(sizes) <= 64 and sum(n < 8 for n in sizes) > 30, sizes
        assert screen.scrub_queries(replayed) == replayed  # not one query left
        assert replayed.count(b"Q\0\0\0\0\x1b[31m") == 20
        start = a["offset"] - b["offset"]
        seen = live.stream(a["channel"])[: len(replayed) - start]
        assert replayed[start:] == screen.scrub_queries(seen)
        slow.contiguous(b["channel"], b["offset"], chars=True)


async def test_full_screen_program_is_restored_and_repaints(
    connect_v2: Any, make_terminal: Any, jp_root_dir: Any
) -> None:
    """Attaching to a program in the alternate screen gets a preamble entering it and makes the
    program repaint (it receives SIGWINCH)."""
    first = await connect_v2()
    sid = await make_terminal("fullscreen")
    a = await first.attach(sid)
    program = (
        "import signal, sys, time\n"
        "signal.signal(signal.SIGWINCH, lambda *a: print('REPAINT_' + str(6 * 7), flush=True))\n"
        "sys.stdout.write('\\033[?1049h\\033[?25lSCREEN'); sys.stdout.flush()\n"
        "while True: time.sleep(1)\n"
    )
    (jp_root_dir / "fullscreen.py").write_text(program)
    first.type(sid, "python3 fullscreen.py\r")
    await first.wait_text(a["channel"], r"SCREEN")
    second = await connect_v2()
    b = await second.attach(sid)
    await second.wait_text(b["channel"], r"REPAINT_42")
    # The preamble holds the modes at the replay's start, the replay the switches after it:
    # together they leave a fresh terminal in the alternate screen with the cursor hidden.
    modes = screen.scan(screen.RESET, b["preamble"].encode() + second.stream(b["channel"]))
    assert screen.in_alternate_screen(modes) and dict(modes).get(25) is False


async def test_credit_bounds_what_is_in_flight_and_acks_resume(
    connect_v2: Any, make_terminal: Any, jp_serverapp: Any
) -> None:
    """A client that stops acknowledging gets at most the window, the PTY pauses, and credit
    resumes it."""
    router = jp_serverapp.web_app.settings["termmux_router"]
    client = await connect_v2(ack=False)
    sid = await make_terminal("credit")
    a = await client.attach(sid)
    client.type(sid, "seq 1 200000; echo FIN_$((6*7))\r")
    await poll_until(
        lambda: router.stats()["sessions"][sid]["paused"], TIMEOUT, "the session to pause"
    )
    window = router.limits.window
    assert sum(len(f.payload) for f in client.outputs) <= window
    client.give_credit()
    await client.wait_text(a["channel"], r"FIN_42", timeout=60)
    client.contiguous(a["channel"], a["offset"], chars=True)


async def test_fast_subscriber_runs_on_while_a_stalled_one_lags(
    connect_v2: Any, make_terminal: Any
) -> None:
    """On a shared session, a client that stops acking does not stop a fast one; when it acks
    again it catches up from history or is told it was truncated."""
    fast = await connect_v2()
    slow = await connect_v2(ack=False)
    sid = await make_terminal("shared")
    f = await fast.attach(sid)
    s = await slow.attach(sid)
    fast.type(sid, "seq 1 200000; echo OVER_$((6*7))\r")
    await fast.wait_text(f["channel"], r"OVER_42", timeout=60)
    slow.give_credit()
    await slow.wait_text(s["channel"], r"OVER_42", timeout=60)
    truncations = [m for m in slow.control if m["type"] == "session.truncated"]
    assert truncations and truncations[0]["channel"] == s["channel"]


async def test_a_slower_subscriber_that_keeps_acking_is_not_truncated(
    connect_v2: Any, make_terminal: Any
) -> None:
    """On a shared session, a client that acknowledges late but steadily (a slower page, or a
    socket busy with other sessions) holds the PTY before history would move past it: it gets
    every byte without session.truncated, and the fast client goes at its pace meanwhile."""
    fast = await connect_v2()
    slow = await connect_v2(ack_delay=0.02)
    sid = await make_terminal("slower")
    f = await fast.attach(sid)
    s = await slow.attach(sid)
    fast.type(sid, "seq 1 300000; echo DONE_$((6*7))\r")
    await slow.wait_text(s["channel"], r"DONE_42", timeout=120)
    await fast.wait_text(f["channel"], r"DONE_42", timeout=30)
    assert not [m for m in slow.control if m["type"] == "session.truncated"]
    body = slow.contiguous(s["channel"], s["offset"], chars=True)
    assert b"\r\n300000\r\n" in body
    assert body.count(b"\r\n") >= 300000


async def _ack_in_bursts(client: Client, every: float) -> None:
    """Acknowledge everything received once every ``every`` seconds, as a page that parses in
    throttled bursts does."""
    while not client.closed.is_set():
        await asyncio.sleep(every)
        for channel, n in list(client.unacked.items()):
            if n:
                client.send({"type": "ack", "channel": channel, "bytes": n})
                client.unacked[channel] = 0


class TestSteadilySlowerSubscriber:
    """Acknowledgements count as recent for 1 s, so that the slow clients below (acking
    every 0.2-0.3 s) hold steadily, and a grace of 1.5 s."""

    @pytest.fixture
    def termmux_config(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        monkeypatch.setattr(policy, "LAG_ACK_RECENT", 1.0)
        return {"slow_subscriber_timeout": 1.5}

    @pytest.mark.parametrize("acks", ["per-frame", "bursts"])
    async def test_holds_a_shared_session_only_for_the_slow_timeout(
        self, connect_v2: Any, make_terminal: Any, acks: str
    ) -> None:
        """A client of a shared session that keeps acknowledging but stays far behind (a
        hidden, paced tab in another page) holds the PTY, but for at most
        slow_subscriber_timeout of one lag, however its acks come (each frame 0.2 s late, or
        everything at once every 0.3 s, which brings it within a window for a moment): then it
        is told that history moved past it, and the fast client gets the rest, whole."""
        fast = await connect_v2()
        if acks == "per-frame":
            slow = await connect_v2(ack_delay=0.2)  # about 1.3 MB/s with a 256 KiB window
        else:
            slow = await connect_v2(ack=False)
            bursts = asyncio.ensure_future(_ack_in_bursts(slow, 0.3))
        sid = await make_terminal("paced")
        f = await fast.attach(sid)
        await slow.attach(sid)
        loop = asyncio.get_running_loop()
        start = loop.time()
        fast.type(sid, "seq 1 800000; echo DONE_$((6*7))\r")

        def truncated() -> bool:
            return any(m["type"] == "session.truncated" for m in slow.control)

        await slow.until(truncated, "session.truncated for the slow client", timeout=60)
        held = loop.time() - start
        # It held first: nothing moves past it before its lag could have lasted the timeout.
        assert held >= 1.0, f"truncated {held:.2f} s after the flood began: it never held"
        await fast.wait_text(f["channel"], r"DONE_42", timeout=60)
        if acks == "bursts":
            bursts.cancel()
        body = fast.contiguous(f["channel"], f["offset"], chars=True)
        assert b"\r\n800000\r\n" in body
        assert body.count(b"\r\n") >= 800000


class TestDriftingSubscriber:
    """Acknowledgements count as recent for 0.5 s; a grace of 5 s."""

    @pytest.fixture
    def termmux_config(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        monkeypatch.setattr(policy, "LAG_ACK_RECENT", 0.5)
        return {"slow_subscriber_timeout": 5.0}

    async def test_brief_drifts_in_one_long_flood_are_each_held(
        self, connect_v2: Any, make_terminal: Any
    ) -> None:
        """Two clients that keep up share a flood; one falls behind for a moment twice (a busy
        page). Each drift is held (it spends a little of the session's grace) and it is never
        truncated, although during a flood every backlog swings above a window."""
        a = await connect_v2(ack_delay=0.01, keep=False)
        b = await connect_v2(ack_delay=0.01, keep=False)
        sid = await make_terminal("drift")
        fa = await a.attach(sid)
        fb = await b.attach(sid)
        a.type(sid, "yes 0123456789abcdef\r")
        await b.wait_text(fb["channel"], r"(0123456789abcdef\r\n){100}")
        for _ in range(2):  # the choreography is in time: time is what the rule measures
            b.ack_delay = 0.15
            await asyncio.sleep(0.4)
            b.ack_delay = 0.01
            await asyncio.sleep(2.6)
        a.type(sid, "\x03")
        a.type(sid, "echo DONE_$((6*7))\r")
        await a.wait_text(fa["channel"], r"DONE_42", timeout=60)
        await b.wait_text(fb["channel"], r"DONE_42", timeout=60)
        assert not [m for m in b.control if m["type"] == "session.truncated"]
        assert not b.gaps and not a.gaps
        assert b.next_offset[fb["channel"]] > 20_000_000  # it was a flood throughout

    async def test_a_lag_that_ended_in_a_quiet_spell_does_not_count_against_the_next(
        self, connect_v2: Any, make_terminal: Any
    ) -> None:
        """A slower client is held through one short flood and catches up once it is over;
        a later flood that it lags in again is held too, from what is left of the grace."""
        fast = await connect_v2()
        slow = await connect_v2(ack_delay=0.2)  # about 1.3 MB/s with a 256 KiB window
        sid = await make_terminal("twice")
        await fast.attach(sid)
        s = await slow.attach(sid)
        fast.type(sid, "seq 1 150000; echo DONE_1$((6*7))\r")
        await slow.wait_text(s["channel"], r"DONE_142", timeout=60)
        fast.type(sid, "seq 1 150000; echo DONE_2$((6*7))\r")
        await slow.wait_text(s["channel"], r"DONE_242", timeout=60)
        assert not [m for m in slow.control if m["type"] == "session.truncated"]
        body = slow.contiguous(s["channel"], s["offset"], chars=True)
        assert body.count(b"\r\n150000\r\n") == 2


async def test_exit_reports_the_signal_and_names_are_new(
    connect_v2: Any, make_terminal: Any
) -> None:
    """A SIGKILLed shell's exit names the signal; a new session never reuses the old name, and a
    reused explicit name has another incarnation."""
    client = await connect_v2()
    created = await client.request({"type": "session.create", "sessionId": "again"})
    sid = created["sessionId"]
    a = await client.attach(sid)
    client.type(sid, "kill -9 $$\r")
    exited = await client.until(
        lambda: next((m for m in client.control if m["type"] == "session.exited"), None), "exit"
    )
    assert exited["signal"] == "SIGKILL" and exited["exitCode"] is None
    await client.request({"type": "session.create", "sessionId": "again"})
    b = await client.attach("again")
    assert b["incarnation"] != a["incarnation"]
    n1 = (await client.request({"type": "session.create"}))["sessionId"]
    await client.request({"type": "session.close", "sessionId": n1})
    n2 = (await client.request({"type": "session.create"}))["sessionId"]
    assert n1 != n2


async def test_create_past_max_terminals_is_refused(
    connect_v2: Any, jp_fetch: Any, term_manager: Any
) -> None:
    """With a manager limited to 2 terminals (terminado's max_terminals, which only a custom
    terminal_manager_class sets), a third session.create is too-many-sessions, creates nothing."""
    term_manager.max_terminals = 2
    client = await connect_v2()
    for _ in range(2):
        assert (await client.request({"type": "session.create"}))["type"] == "session.created"
    third = await client.request({"type": "session.create"})
    assert third["type"] == "error" and third["code"] == "too-many-sessions", third
    listed = await client.request({"type": "session.list"})
    assert len(listed["sessions"]) == 2


class TestProfiles:
    """Named shell profiles from TermMuxApp.profiles."""

    @pytest.fixture
    def termmux_config(self) -> dict[str, Any]:
        return {
            "profiles": [
                {"name": "py", "command": ["python3", "-q", "-i"], "env": {"TM_PROFILE": "py-42"}}
            ]
        }

    async def test_profiles_are_listed_and_start_their_command(
        self, connect_v2: Any, jp_fetch: Any
    ) -> None:
        """profile.list shows the default and the configured profiles; session.create with a
        profile starts its command with its environment; an unknown profile is invalid-field."""
        client = await connect_v2()
        listed = await client.request({"type": "profile.list"})
        assert listed["profiles"] == [
            {"name": "default", "default": True},
            {"name": "py", "default": False},
        ]
        created = await client.request({"type": "session.create", "profile": "py"})
        a = await client.attach(created["sessionId"])
        client.type(created["sessionId"], "import os; print(os.environ['TM_PROFILE'][::-1])\r")
        await client.wait_text(a["channel"], r"24-yp")
        bad = await client.request({"type": "session.create", "profile": "nope"})
        assert bad["type"] == "error" and bad["code"] == "invalid-field" and "py" in bad["message"]


def test_invalid_profiles_are_reported_not_half_loaded() -> None:
    """A malformed profile list is named in one error; nothing is served half-configured."""
    from jupyter_termmux.app import TermMuxApp

    app = TermMuxApp(profiles=[{"name": "x"}, {"name": "y", "command": "sh", "oops": 1}])
    assert any("profiles[0]['command']" in e for e in app.config_errors())
    app = TermMuxApp(window=10, history_limit=0)
    assert app.config_errors() == [
        "history_limit must be positive",
        "window must be at least 64 bytes",
    ]


async def test_a_normal_close_leaves_no_reservation(
    connect_v2: Any, make_terminal: Any, jp_serverapp: Any
) -> None:
    """A v2 socket closed with 1000 (a tab that is done) holds nothing back; a drop does."""
    router = jp_serverapp.web_app.settings["termmux_router"]
    sid = await make_terminal("goodbye")
    done = await connect_v2()
    await done.attach(sid)
    dropped = await connect_v2()
    await dropped.attach(sid)
    await done.close(1000)
    await poll_until(
        lambda: router.stats()["sessions"][sid]["subscribers"] == 1, TIMEOUT, "the normal close"
    )
    assert router.stats()["sessions"][sid]["reservations"] == 0
    await dropped.close()  # no status code: what a dropped connection looks like to the server
    await poll_until(
        lambda: router.stats()["sessions"][sid]["reservations"] == 1, TIMEOUT, "a reservation"
    )


async def test_two_floods_share_one_socket_and_an_echo_cuts_in(
    connect_v2: Any, make_terminal: Any
) -> None:
    """Two sessions flooding on one v2 socket take turns (neither waits for the other to end),
    and a third session's echo arrives while both still flood."""
    client = await connect_v2()
    a = await client.attach(await make_terminal("flood_a"))
    b = await client.attach(await make_terminal("flood_b"))
    c = await client.attach(await make_terminal("echo_c"))
    for x in (a, b):
        client.send(
            {
                "type": "terminal.input",
                "sessionId": x["sessionId"],
                "data": "seq 1 400000; echo END_$((6*7))\r",
            }
        )
    await client.wait_text(a["channel"], r"\n20000\r")
    client.type(c["sessionId"], "echo ECHO_$((6*7))\r")
    await client.wait_text(c["channel"], r"ECHO_42")
    flooding = [f.channel for f in client.outputs if f.channel in (a["channel"], b["channel"])]
    assert b"END_42" not in client.stream(a["channel"]) + client.stream(b["channel"])
    await client.wait_text(a["channel"], r"END_42", timeout=120)
    await client.wait_text(b["channel"], r"END_42", timeout=120)
    # Turns: in the first half of all flood frames both sessions appear, many times each.
    order = [f.channel for f in client.outputs if f.channel in (a["channel"], b["channel"])]
    first_half = order[: len(order) // 2]
    assert first_half.count(a["channel"]) > 10 and first_half.count(b["channel"]) > 10
    assert len(flooding) < len(order)


class TestTypingWindow:
    """While a quiet session of a socket is typed into, the socket's other sessions have only
    ``policy.TYPING_WINDOW`` of bulk in flight, unless another socket also watches them."""

    @pytest.fixture
    def termmux_config(self, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
        monkeypatch.setattr(policy, "TYPING_WINDOW", 16384)
        # A hold longer than the test: the typing state cannot lapse under a slow machine.
        monkeypatch.setattr(policy, "TYPING_HOLD", 600.0)
        return {"socket_window": 131072}

    async def test_an_unshared_flood_is_held_to_the_typing_window(
        self, connect_v2: Any, make_terminal: Any, router: Any
    ) -> None:
        client = await connect_v2(ack=False)  # holds whatever it is sent in flight
        flood = await client.attach(await make_terminal("held_flood"))
        quiet = await client.attach(await make_terminal("held_quiet"))
        # The quiet session is typed into last (the server takes frames in order); the sleep
        # lets the flood begin well after its own input, whose answer would be urgent.
        client.type(flood["sessionId"], "sleep 1; seq 1 200000\r")
        client.type(quiet["sessionId"], "#")
        await client.wait_text(quiet["channel"], "#")
        await poll_until(
            lambda: router.stats()["sessions"]["held_flood"]["paused"], TIMEOUT, "a full backlog"
        )
        # What the server sent, all of it received (none still on its way).
        (sub,) = router.sessions["held_flood"].subscribers.values()
        sent = sub.sent - flood["offset"]
        await client.until(lambda: len(client.stream(flood["channel"])) >= sent, "all sent")
        # The window, plus the command's echo and an urgent small read (under 1 KB each).
        assert sent <= 16384 + 4096, sent

    async def test_a_shared_flood_keeps_the_socket_window(
        self, connect_v2: Any, make_terminal: Any
    ) -> None:
        watcher = await connect_v2()  # acks all: the session runs on at its pace
        client = await connect_v2(ack=False)
        sid = await make_terminal("shared_flood")
        await watcher.attach(sid)
        shared = await client.attach(sid)
        quiet = await client.attach(await make_terminal("shared_quiet"))
        client.type(quiet["sessionId"], "#")
        await client.wait_text(quiet["channel"], "#")
        watcher.type(sid, "seq 1 200000\r")
        # Held back, this socket would stop at 16 KiB and only lag behind the watcher.
        await client.until(
            lambda: len(client.stream(shared["channel"])) >= 4 * 16384, "the socket window"
        )


async def test_frames_are_bounded_per_version(connect_v2: Any, make_terminal: Any) -> None:
    """A flood goes out in v2 frames of at most ``V2_FRAME_BYTES`` (128 KiB), larger than v1's
    (fewer frames and acks per MB), and in v1 frames of at most 32 KiB (the panel parses a v1
    frame whole)."""
    sid = await make_terminal("frames")
    v2, v1 = await connect_v2(), await connect_v2(v2=False)
    ch = (await v2.attach(sid))["channel"]
    await v1.request({"type": "session.attach", "sessionId": sid})
    v2.type(sid, "seq 1 400000; echo FIN_$((6*7))\r")
    await v2.wait_text(ch, r"FIN_42", timeout=60)
    sizes = [len(f.payload) for f in v2.outputs if f.channel == ch]
    assert max(sizes) <= policy.V2_FRAME_BYTES
    assert max(sizes) > policy.V1_FRAME_BYTES, sorted(sizes)[-5:]
    await v1.until(
        lambda: any("FIN_42" in m.get("data", "") for m in v1.control), "FIN_42 on v1", 60
    )
    texts = [m["data"] for m in v1.control if m.get("type") == "terminal.output"]
    assert max(len(t.encode()) for t in texts) <= policy.V1_FRAME_BYTES
