"""Shared terminals against a real server with three users: read-only viewers through the
server's own authorizer, the size of the latest active writer, presence, and recordings.

The test configuration maps tokens to users (``ThreeUsers``) and grants by user
(``GrantsByUser``): ``writer`` may read, write and execute, ``viewer`` may only read, ``nobody``
may do nothing. Requests without a token header are sent as the writer.
"""

from __future__ import annotations

import itertools
import json
import re
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from client import Client, sentinel
from conftest import SHELL, SOCKET_PATH, poll_until
from jupyter_server.auth.authorizer import Authorizer
from jupyter_server.auth.identity import IdentityProvider, User
from tornado.httpclient import HTTPClientError
from traitlets.config import Config

TOKENS = {"writer": "tok-writer", "viewer": "tok-viewer", "nobody": "tok-nobody"}
GRANTS = {"writer": {"read", "write", "execute"}, "viewer": {"read"}, "nobody": set()}


class ThreeUsers(IdentityProvider):
    """``Authorization: token tok-<user>`` is that user; any other request is nobody known."""

    def get_user_token(self, handler: Any) -> User | None:
        """The user a token names, or None."""
        scheme, _, token = handler.request.headers.get("Authorization", "").partition(" ")
        names = {t: u for u, t in TOKENS.items()}
        name = names.get(token) if scheme.lower() == "token" else None
        return User(username=name) if name is not None else None


class GrantsByUser(Authorizer):
    """Allows what ``GRANTS`` gives the user, on every resource; answers asynchronously, as a
    JupyterHub authorizer may, and records each question about terminals."""

    asked: ClassVar[list[tuple[str, str, str]]] = []

    async def is_authorized(self, handler: Any, user: User, action: str, resource: str) -> bool:
        """Whether ``user`` may do ``action``."""
        if resource == "terminals":
            self.asked.append((handler.request.path, user.username, action))
        return action in GRANTS.get(user.username, set())


def _config(allow_viewers: bool) -> Config:
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"jupyter_termmux": True, "jupyter_server_terminals": True},
                "terminado_settings": {"shell_command": SHELL},
                "identity_provider_class": ThreeUsers,
                "authorizer_class": GrantsByUser,
            },
            "TermMuxApp": {"allow_viewers": allow_viewers},
        }
    )


@pytest.fixture
def jp_auth_header() -> dict[str, str]:
    """pytest-jupyter's requests (REST, sockets) go as the writer unless told otherwise."""
    return {"Authorization": f"token {TOKENS['writer']}"}


@pytest.fixture
def connect_as(connect: Any) -> Any:
    """Open a v1 termmux socket as one of the three users."""

    async def _connect(user: str, name: str | None = None) -> Client:
        client: Client = await connect(
            name or user, headers={"Authorization": f"token {TOKENS[user]}"}
        )
        return client

    return _connect


@pytest.fixture
def connect_v2_as(connect_v2: Any) -> Any:
    """Open a v2 termmux socket as one of the three users."""

    async def _connect(user: str, **options: Any) -> Client:
        headers = {"Authorization": f"token {TOKENS[user]}"}
        client: Client = await connect_v2(user, headers=headers, **options)
        return client

    return _connect


async def _upgrade_refused(jp_ws_fetch: Any, user: str) -> int:
    """The HTTP status that refused ``user``'s upgrade (fails if the socket opened)."""
    with pytest.raises(HTTPClientError) as e:
        ws = await jp_ws_fetch(*SOCKET_PATH, headers={"Authorization": f"token {TOKENS[user]}"})
        ws.close()
    return int(e.value.code)


async def _fetch_code(jp_fetch: Any, user: str, *parts: str) -> int:
    """The HTTP status of ``GET parts`` as ``user``."""
    try:
        r = await jp_fetch(*parts, headers={"Authorization": f"token {TOKENS[user]}"})
    except HTTPClientError as e:
        return int(e.code)
    return int(r.code)


def _resize(client: Client, sid: str, rows: int, cols: int) -> None:
    client.send({"type": "terminal.resize", "sessionId": sid, "rows": rows, "cols": cols})


_size_ids = iter(range(1, 10**6))


async def _stty_size(client: Client, sid: str) -> tuple[int, int]:
    """(rows, cols) as ``stty size`` reports it in the shell, typed by ``client``."""
    k = next(_size_ids)
    since = len(client.frames)
    client.type(sid, f"echo tm_sz_$(stty size | tr ' ' x)_$((8000+{k}))\r")
    m = await client.wait_output(sid, re.compile(rf"tm_sz_(\d+)x(\d+)_{8000 + k}"), since=since)
    return int(m.group(1)), int(m.group(2))


def _entry(listed: dict[str, Any], sid: str) -> dict[str, Any]:
    return next(s for s in listed["sessions"] if s["sessionId"] == sid)


class TestViewersOff:
    """With the default settings nothing changes: the socket needs execute."""

    @pytest.fixture
    def jp_server_config(self) -> Config:
        """Three users, allow_viewers left at its default."""
        return _config(allow_viewers=False)

    async def test_only_execute_opens_the_socket(
        self, jp_ws_fetch: Any, connect_as: Any, make_terminal: Any
    ) -> None:
        """The viewer (read only) and nobody are refused with 403 before the upgrade, as
        before; the writer's socket opens and works."""
        assert await _upgrade_refused(jp_ws_fetch, "viewer") == 403
        assert await _upgrade_refused(jp_ws_fetch, "nobody") == 403
        sid = await make_terminal("off_ok")
        writer = await connect_as("writer")
        await writer.attach(sid)
        await writer.run(sid)

    async def test_the_recording_is_served_on_read(self, jp_fetch: Any, make_terminal: Any) -> None:
        """The cast endpoint needs read, not allow_viewers: the viewer gets it, nobody gets
        403, an unknown name 404."""
        sid = await make_terminal("off_cast")
        assert (
            await _fetch_code(jp_fetch, "viewer", "api", "termmux", "sessions", sid, "cast") == 200
        )
        assert (
            await _fetch_code(jp_fetch, "nobody", "api", "termmux", "sessions", sid, "cast") == 403
        )
        assert (
            await _fetch_code(jp_fetch, "writer", "api", "termmux", "sessions", "no", "cast") == 404
        )


class TestViewers:
    """With allow_viewers: read watches, execute types and sizes, write creates and closes."""

    @pytest.fixture
    def jp_server_config(self) -> Config:
        """Three users, allow_viewers on."""
        return _config(allow_viewers=True)

    async def test_nobody_is_refused_at_the_upgrade(
        self, jp_ws_fetch: Any, connect_as: Any
    ) -> None:
        """A user with no permission on terminals still gets 403; the viewer's socket opens."""
        assert await _upgrade_refused(jp_ws_fetch, "nobody") == 403
        viewer = await connect_as("viewer")
        assert (await viewer.request({"type": "ping"}))["type"] == "pong"

    async def test_viewer_sees_output_and_cannot_type_or_resize(
        self, connect_as: Any, make_terminal: Any, jp_root_dir: Path
    ) -> None:
        """A view attach gets the PTY's size and the writer's output; its input and resize are
        refused with read-only and never reach the shell: a marker command it types does not
        run, the line the writer types next is not garbled, and stty shows the writer's size."""
        sid = await make_terminal("watched")
        writer, viewer = await connect_as("writer"), await connect_as("viewer")
        await writer.attach(sid)
        _resize(writer, sid, 30, 100)
        await writer.barrier()
        answer = await viewer.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
        assert answer["type"] == "session.attached", answer
        assert (answer["rows"], answer["cols"]) == (30, 100)
        cmd, expected = sentinel("tm_seen")
        since = len(viewer.frames)
        writer.type(sid, cmd)
        await viewer.wait_output(sid, expected, since=since)

        marker = jp_root_dir / "tm_viewer_marker"
        refused = await viewer.request(
            {"type": "terminal.input", "sessionId": sid, "data": f"touch {marker}\r"}
        )
        assert (refused["type"], refused["code"]) == ("error", "read-only"), refused
        assert (refused["sessionId"], refused["request"]) == (sid, "terminal.input")
        refused = await viewer.request(
            {"type": "terminal.resize", "sessionId": sid, "rows": 12, "cols": 40}
        )
        assert (refused["type"], refused["code"]) == ("error", "read-only"), refused
        assert await _stty_size(writer, sid) == (30, 100)
        await writer.run(sid)
        assert not marker.exists()
        assert "tm_viewer_marker" not in writer.text(sid), "the viewer's input reached the shell"

    async def test_each_request_needs_its_permission(
        self, connect_as: Any, make_terminal: Any, term_manager: Any
    ) -> None:
        """The viewer may list and view but a write attach, create and close are refused with
        forbidden (and change nothing); the writer may do all of them."""
        sid = await make_terminal("guarded")
        viewer = await connect_as("viewer")
        for msg, needed in (
            ({"type": "session.attach", "sessionId": sid}, "execute"),
            ({"type": "session.attach", "sessionId": sid, "mode": "write"}, "execute"),
            ({"type": "session.create", "sessionId": "by_viewer"}, "write"),
            ({"type": "session.close", "sessionId": sid}, "write"),
        ):
            answer = await viewer.request(msg)
            assert (answer["type"], answer["code"]) == ("error", "forbidden"), (msg, answer)
            assert answer["request"] == msg["type"] and repr(needed) in answer["message"]
        assert sorted(term_manager.terminals) == [sid]
        listed = await viewer.request({"type": "session.list"})
        assert _entry(listed, sid)["attached"] is False
        answer = await viewer.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
        assert answer["type"] == "session.attached"
        # Attaching again in write mode does not turn the view into a writer.
        answer = await viewer.request({"type": "session.attach", "sessionId": sid, "mode": "write"})
        assert answer["code"] == "forbidden"
        answer = await viewer.request({"type": "terminal.input", "sessionId": sid, "data": "x"})
        assert answer["code"] == "read-only"

        writer = await connect_as("writer")
        created = await writer.request({"type": "session.create", "sessionId": "by_writer"})
        assert created["type"] == "session.created", created
        await writer.attach("by_writer")
        await writer.run("by_writer")
        closed = await writer.request({"type": "session.close", "sessionId": "by_writer"})
        assert closed["type"] == "session.closed", closed

    async def test_presence_counts_writers_and_viewers(
        self, connect_as: Any, make_terminal: Any, jp_ws_fetch: Any, router: Any
    ) -> None:
        """session.list counts termmux writers and JupyterLab's classic sockets as writers and
        view attachments as viewers, as they come, go and change mode."""
        sid = await make_terminal("present")
        writer = await connect_as("writer")
        await writer.attach(sid)
        classic = await jp_ws_fetch("terminals", "websocket", sid)
        viewers = [await connect_as("viewer", f"viewer{i}") for i in range(2)]
        for v in viewers:
            answer = await v.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
            assert answer["type"] == "session.attached"
        await poll_until(lambda: router.terminals.client_count(sid) == 4, 10, "four clients")
        entry = _entry(await viewers[0].request({"type": "session.list"}), sid)
        assert (entry["writers"], entry["viewers"], entry["clients"]) == (2, 2, 4), entry
        assert entry["attached"] is True

        await viewers[1].detach(sid)
        entry = _entry(await writer.request({"type": "session.list"}), sid)
        assert (entry["writers"], entry["viewers"]) == (2, 1), entry
        # A writer's socket that attaches again as a view (v1) is counted as a viewer.
        answer = await writer.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
        assert answer["type"] == "session.attached"
        entry = _entry(await writer.request({"type": "session.list"}), sid)
        assert (entry["writers"], entry["viewers"]) == (1, 2), entry
        classic.close()
        await poll_until(lambda: router.terminals.client_count(sid) == 2, 10, "classic gone")
        entry = _entry(await writer.request({"type": "session.list"}), sid)
        assert (entry["writers"], entry["viewers"]) == (0, 2), entry

    async def test_size_follows_the_latest_writer_never_a_viewer(
        self, connect_as: Any, make_terminal: Any, router: Any
    ) -> None:
        """Of two writers of different sizes, whoever resized or typed last sets the PTY's size
        (stty shows it, larger or smaller); a viewer's resize changes nothing; every subscriber,
        the viewer too, is told each new size with session.resized."""
        sid = await make_terminal("latest")
        a, b = await connect_as("writer", "a"), await connect_as("writer", "b")
        viewer = await connect_as("viewer")
        await a.attach(sid)
        await b.attach(sid)
        await viewer.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
        winsize = router.terminals.get(sid).term.ptyproc.getwinsize

        _resize(a, sid, 30, 100)
        await a.barrier()
        await viewer.wait_type("session.resized", sessionId=sid, rows=30, cols=100)
        _resize(b, sid, 40, 132)
        await b.barrier()
        await viewer.wait_type("session.resized", sessionId=sid, rows=40, cols=132)
        assert await _stty_size(a, sid) == (30, 100), "a typed last: its size, though smaller"
        assert await _stty_size(b, sid) == (40, 132), "b typed last: its size, though larger"
        assert await _stty_size(a, sid) == (30, 100)
        since = len(viewer.frames)
        await viewer.request({"type": "terminal.resize", "sessionId": sid, "rows": 10, "cols": 20})
        await a.barrier()
        assert winsize() == (30, 100), "a viewer's resize changed the PTY"
        resized = viewer.of_type("session.resized", since=since)
        assert resized == [], resized
        for client in (a, b, viewer):
            await client.barrier()  # what was sent to it before has arrived
            client_resized = [(f["rows"], f["cols"]) for f in client.of_type("session.resized")]
            assert client_resized == [(30, 100), (40, 132), (30, 100), (40, 132), (30, 100)]

        since = len(viewer.frames)
        await a.close()  # the latest writer leaves: the next most recent one's size applies
        await viewer.wait_type("session.resized", since=since, sessionId=sid, rows=40, cols=132)
        assert await _stty_size(b, sid) == (40, 132)

    async def test_v2_viewer(self, connect_v2_as: Any, make_terminal: Any) -> None:
        """On v2 the hello says what the user may do, a view attach carries the size and gets
        the output frames, and input is read-only."""
        sid = await make_terminal("v2_view")
        writer, viewer = await connect_v2_as("writer"), await connect_v2_as("viewer")
        hello = await viewer.until(lambda: viewer.control[:1], "hello")
        assert (hello[0]["access"], hello[0]["viewers"]) == (["read"], True)
        await writer.until(lambda: writer.control[:1], "hello")
        assert writer.control[0]["access"] == ["read", "write", "execute"]
        await writer.attach(sid)
        writer.send({"type": "terminal.resize", "sessionId": sid, "rows": 33, "cols": 99})
        await writer.request({"type": "ping"})
        answer = await viewer.attach(sid, mode="view")
        assert (answer["rows"], answer["cols"]) == (33, 99)
        cmd, expected = sentinel("tm_v2seen")
        writer.type(sid, cmd)
        await viewer.wait_text(answer["channel"], expected)
        refused = await viewer.request({"type": "terminal.input", "sessionId": sid, "data": "x"})
        assert refused["code"] == "read-only", refused
        writer.send({"type": "terminal.resize", "sessionId": sid, "rows": 34, "cols": 98})
        await viewer.until(
            lambda: any(m["type"] == "session.resized" and m["rows"] == 34 for m in viewer.control),
            "session.resized",
        )

    async def test_a_view_far_behind_a_flood_is_sent_the_screen_not_every_byte(
        self, connect_v2_as: Any, make_terminal: Any
    ) -> None:
        """During a flood a view skips ahead (``session.skipped``) instead of taking every byte,
        so it costs the server a screen per update: what it is sent is the session's own bytes
        at the offsets it is told, the writer's stream stays whole, and the view ends on the
        same last line as the writer."""
        sid = await make_terminal("v2_skip")
        writer, viewer = await connect_v2_as("writer"), await connect_v2_as("viewer")
        w = (await writer.attach(sid))["channel"]
        v = (await viewer.attach(sid, mode="view"))["channel"]
        cmd, expected = sentinel("tm_flooded")
        writer.type(sid, f"seq 1 200000; {cmd}")
        await writer.wait_text(w, expected, timeout=60)
        await viewer.wait_text(v, expected, timeout=60)
        # The writer's whole stream, by offset.
        frames_w = [f for f in writer.outputs if f.channel == w]
        base = frames_w[0].offset
        whole = b"".join(f.payload for f in frames_w)
        assert [f.offset - base for f in frames_w] == list(
            itertools.accumulate([0] + [len(f.payload) for f in frames_w[:-1]])
        )
        numbers = [int(x) for x in re.findall(rb"(?<=[\r\n])(\d+)(?=\r\n)", whole)]
        assert numbers == list(range(1, 200001))
        # The view: each frame at the offset it was told (after a frame, or a skip), with the
        # session's bytes there.
        skips = [m for m in viewer.control if m["type"] == "session.skipped"]
        assert skips and all(m["channel"] == v and m["sessionId"] == sid for m in skips)
        frames_v = iter(f for f in viewer.outputs if f.channel == v)
        controls = iter(viewer.control)
        at, got = None, 0
        for kind in viewer.sequence:
            if kind == f"frame:{v}":
                f = next(frames_v)
                assert at is None or f.offset == at, (f.offset, at)
                assert f.payload == whole[f.offset - base : f.offset - base + len(f.payload)]
                at, got = f.offset + len(f.payload), got + len(f.payload)
            elif not kind.startswith("frame:"):
                m = next(controls)
                if m["type"] == "session.skipped":
                    assert at is not None and m["offset"] > at
                    at = m["offset"]
        assert at == base + len(whole)
        assert got < len(whole) // 4, (got, len(whole))

    async def test_authorizer_is_asked_once_per_action_at_the_upgrade(
        self, connect_as: Any, make_terminal: Any
    ) -> None:
        """Each of read, write and execute is asked once when the socket opens, not per frame."""
        sid = await make_terminal("asked")
        GrantsByUser.asked.clear()
        viewer = await connect_as("viewer")
        await viewer.request({"type": "session.attach", "sessionId": sid, "mode": "view"})
        for _ in range(3):
            await viewer.request({"type": "session.list"})
        socket = [(u, a) for p, u, a in GrantsByUser.asked if p.endswith("termmux/socket")]
        assert sorted(socket) == [("viewer", "execute"), ("viewer", "read"), ("viewer", "write")]


class TestViewsSkipInsteadOfTruncating:
    """A view that falls behind history's start between two of its updates skips ahead (with
    no grace left to hold the session for it, as in a long flood)."""

    @pytest.fixture
    def jp_server_config(self) -> Config:
        """Viewers on, and a history a flood passes in a few milliseconds."""
        config = _config(allow_viewers=True)
        config["TermMuxApp"]["history_limit"] = 200_000
        config["TermMuxApp"]["slow_subscriber_timeout"] = 0.0  # no holds: as once a grace is spent
        return config

    async def test_a_slow_view_past_historys_start_is_skipped_not_reset(
        self, connect_v2_as: Any, make_terminal: Any
    ) -> None:
        """A page that acknowledges 30 ms late, viewing a 2 MB flood through a 200 KB history:
        never ``session.truncated`` (a reset and a replay of the whole history each time), only
        ``session.skipped``, and it ends on the flood's last line."""
        sid = await make_terminal("v2_slow_view")
        writer = await connect_v2_as("writer")
        viewer = await connect_v2_as("viewer", ack_delay=0.03)
        await writer.attach(sid)
        v = (await viewer.attach(sid, mode="view"))["channel"]
        cmd, expected = sentinel("tm_slowview")
        writer.type(sid, f"seq 1 300000; {cmd}")
        await viewer.wait_text(v, expected, timeout=60)
        kinds = [m["type"] for m in viewer.control]
        assert "session.truncated" not in kinds, kinds.count("session.truncated")
        assert "session.skipped" in kinds
        assert b"300000\r\n" in viewer.stream(v)


class TestRecording:
    """``GET api/termmux/sessions/NAME/cast``: the session's history as asciicast v2."""

    @pytest.fixture
    def jp_server_config(self) -> Config:
        """Three users, allow_viewers on."""
        return _config(allow_viewers=True)

    async def test_cast_is_the_history_as_asciicast_v2(
        self, jp_fetch: Any, connect_as: Any, make_terminal: Any, router: Any
    ) -> None:
        """The cast parses as asciicast v2 (header, then [time, code, data] lines); its output
        events concatenate to the session's history, non-ASCII included; its times never
        decrease and are the times output was read (a pause in the program shows); the
        writer's resize is an "r" event."""
        sid = await make_terminal("recorded")
        writer = await connect_as("writer")
        await writer.attach(sid)
        await writer.run(sid)
        _resize(writer, sid, 31, 101)
        await writer.barrier()
        since = len(writer.frames)
        writer.type(sid, "echo tm_before_é日; sleep 0.4; echo tm_after_$((20+22))\r")
        await writer.wait_output(sid, "tm_after_42", since=since)
        await writer.run(sid)

        started = time.time()
        r = await jp_fetch(
            "api",
            "termmux",
            "sessions",
            sid,
            "cast",
            headers={"Authorization": f"token {TOKENS['viewer']}"},
        )
        assert r.headers["Content-Type"].startswith("application/x-asciicast")
        lines = r.body.decode("utf-8").splitlines()
        header = json.loads(lines[0])
        assert header["version"] == 2
        assert isinstance(header["width"], int) and isinstance(header["height"], int)
        assert started - 60 < header["timestamp"] <= started + 1
        events = [json.loads(line) for line in lines[1:]]
        assert events and all(len(e) == 3 and e[1] in ("o", "r") for e in events)
        times = [e[0] for e in events]
        assert times == sorted(times) and times[0] >= 0
        # The prompt may still come after the cast was made: compare what the cast covers.
        cast = "".join(e[2] for e in events if e[1] == "o").encode("utf-8")
        history = router.terminals.get(sid).history
        assert history.start == 0 and history.read(0, len(cast)) == cast
        assert "tm_before_é日" in cast.decode() and "tm_after_42" in cast.decode()
        assert ["101x31"] == [e[2] for e in events if e[1] == "r"]

        def when(text: str) -> float:
            return next(e[0] for e in events if e[1] == "o" and text in e[2])

        assert when("tm_after_42") - when("tm_before_é日") >= 0.3

    async def test_cast_needs_read_on_terminals(self, jp_fetch: Any, make_terminal: Any) -> None:
        """nobody gets 403, whoever may read gets the cast, an unknown session is 404."""
        sid = await make_terminal("guarded_cast")
        path = ("api", "termmux", "sessions", sid, "cast")
        assert await _fetch_code(jp_fetch, "nobody", *path) == 403
        assert await _fetch_code(jp_fetch, "viewer", *path) == 200
        assert await _fetch_code(jp_fetch, "writer", *path) == 200
        missing = ("api", "termmux", "sessions", "nosuch", "cast")
        assert await _fetch_code(jp_fetch, "viewer", *missing) == 404
