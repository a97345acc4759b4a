"""Bad input is answered with an error frame and never costs the socket or its other sessions."""

from __future__ import annotations

import json

import pytest
from client import sentinel
from conftest import ERROR_CODES_REFUSING_PARSE, EXAMPLES

MAX_MESSAGE = 4096

ANSWER_TYPES = {
    "session.attach": "session.attached",
    "session.detach": "session.detached",
    "session.create": "session.created",
    "session.close": "session.closed",
    "session.list": "session.list",
    "ping": "pong",
}


@pytest.fixture
def termmux_config():
    """A small message limit and a small per-socket session limit."""
    return {"max_message_size": MAX_MESSAGE, "max_sessions_per_socket": 2}


async def _still_streaming(client, sid):
    """The socket is open and the other session's output still arrives."""
    await client.run(sid, tag="alive")


async def test_invalid_examples_are_refused(connect, make_terminal):
    """Every client.invalid example frame is answered by error with its code (naming its field), and the socket keeps streaming another session."""
    sid = await make_terminal("survivor")
    client = await connect()
    await client.attach(sid)
    failures = []
    for ex in EXAMPLES["client"]["invalid"]:
        since = len(client.frames)
        client.send(ex["frame"])
        try:
            err = await client.wait_type("error", timeout=5, since=since)
        except AssertionError as e:
            failures.append(f"{ex['frame']}: no error ({e})")
        else:
            if err.get("code") != ex["code"]:
                failures.append(f"{ex['frame']}: code {err.get('code')!r}, expected {ex['code']!r}")
            if "field" in ex and ex["field"] not in err.get("message", ""):
                failures.append(
                    f"{ex['frame']}: message {err.get('message')!r} lacks {ex['field']!r}"
                )
            if not isinstance(err.get("message"), str):
                failures.append(f"{ex['frame']}: no message in {err}")
        await _still_streaming(client, sid)
    assert not failures, "\n".join(failures)


async def test_valid_examples_are_accepted(connect, jp_root_dir):
    """Every client.valid example frame is accepted: no parse-level error (unknown-session and the like are fine)."""
    (jp_root_dir / "notebooks").mkdir()
    client = await connect()
    failures = []
    for ex in EXAMPLES["client"]["valid"]:
        since = len(client.frames)
        client.send(json.dumps(ex))
        answer_type = ANSWER_TYPES.get(ex["type"])
        if answer_type:
            await client.wait_frame(
                lambda f, t=answer_type: f.get("type") in (t, "error"),
                timeout=20,
                since=since,
                what=f"answer to {ex}",
            )
        await client.barrier()
        bad = [
            e for e in client.of_type("error", since) if e.get("code") in ERROR_CODES_REFUSING_PARSE
        ]
        if bad:
            failures.append(f"{ex}: {bad}")
    assert not failures, "\n".join(failures)


async def test_binary_frame_is_refused(connect, make_terminal):
    """A binary frame is answered by error binary-frame and the socket keeps streaming."""
    sid = await make_terminal("bin")
    client = await connect()
    await client.attach(sid)
    since = len(client.frames)
    client.send_binary(b'{"type": "ping"}')
    err = await client.wait_type("error", since=since)
    assert err["code"] == "binary-frame", err
    assert not client.of_type("pong", since), "the binary frame was handled"
    await _still_streaming(client, sid)


async def test_oversized_frame_is_refused(connect, make_terminal):
    """A frame longer than max_message_size is answered by message-too-large and not executed; one within it is."""
    sid = await make_terminal("big_frames")
    client = await connect()
    await client.attach(sid)

    too_big = {"type": "terminal.input", "sessionId": sid, "data": "echo tm_big_$((20+1))\r"}
    too_big["data"] = "echo tm_big_$((20+1))" + " " * (MAX_MESSAGE + 100) + "\r"
    assert len(json.dumps(too_big)) > MAX_MESSAGE
    since = len(client.frames)
    client.send(too_big)
    err = await client.wait_type("error", since=since)
    assert err["code"] == "message-too-large", err
    await _still_streaming(client, sid)

    cmd, expected = sentinel("fits")
    fits = {"type": "terminal.input", "sessionId": sid, "data": ""}
    fits["data"] = cmd[:-1] + " " * (MAX_MESSAGE - 200 - len(cmd)) + "\r"
    assert MAX_MESSAGE - 200 < len(json.dumps(fits)) <= MAX_MESSAGE
    mark = len(client.frames)
    client.send(fits)
    await client.wait_output(sid, expected, since=mark)
    assert "tm_big_21" not in client.text(sid), "the oversized input reached the PTY"
    assert not client.of_type("error", mark)


async def test_frame_over_hard_limit_closes_1009(connect, make_terminal):
    """A frame over 8 x max_message_size is refused by closing the socket with 1009; other sockets live on."""
    sid = await make_terminal("hard_limit")
    victim, bystander = await connect("victim"), await connect("bystander")
    await bystander.attach(sid)
    victim.send({"type": "ping", "id": "x" * (8 * MAX_MESSAGE + 1000)})
    await victim.closed.wait()
    assert victim.close_code == 1009, victim.close_code
    await bystander.run(sid)


async def test_too_many_sessions_per_socket(connect, make_terminal):
    """Attaching past max_sessions_per_socket is refused with too-many-sessions; a freed slot can be used."""
    sids = [await make_terminal(f"many{i}") for i in range(3)]
    client = await connect()
    await client.attach(sids[0])
    await client.attach(sids[1])
    answer = await client.request({"type": "session.attach", "sessionId": sids[2]})
    assert answer["type"] == "error" and answer["code"] == "too-many-sessions", answer
    await client.detach(sids[0])
    await client.attach(sids[2])
    await client.run(sids[2])


async def test_input_to_unattached_session_is_refused(connect, make_terminal):
    """terminal.input to a session this socket did not attach is refused with not-attached and not typed."""
    sid = await make_terminal("guarded")
    intruder, owner = await connect("intruder"), await connect("owner")
    await owner.attach(sid)
    answer = await intruder.request(
        {"type": "terminal.input", "sessionId": sid, "data": "echo tm_intr_$((4+4))\r"}
    )
    assert answer["type"] == "error" and answer["code"] == "not-attached", answer
    await owner.run(sid)
    assert "tm_intr_8" not in owner.text(sid)
