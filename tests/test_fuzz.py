"""Property-based fuzzing of one live socket while another streams a verified payload.

Hypothesis generates thousands of random and mutated client frames (from protocol/examples.json)
and sends them, one at a time, each followed by a ping barrier, to one socket of a real server.
Meanwhile another socket streams numbered lines from another session. The properties: every
frame gets exactly one answer, a named error (never ``internal-error``) or the reply its type
calls for; an answer echoes the request's ``id`` whenever the frame had a valid one; the socket
stays open; the server logs no traceback; the stream arrives whole.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from client import TIMEOUT, raw_handshake, ws_frame
from conftest import EXAMPLES, SOCKET_PATH, assert_contiguous, numbered, poll_until
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

#: Wall-clock budget for the generated frames: the run stops sending after it, once it has sent
#: at least MIN_FRAMES (a loaded machine takes longer for them; the count is what is asserted).
FUZZ_SECONDS = 45.0
MIN_FRAMES = 1000
MAX_EXAMPLES = 2500

#: The streaming session; a name the fuzzer will not guess, so no frame can touch it.
STREAM_SID = "zz_fuzz_stream_q7x"

SCHEMA = json.loads(
    (Path(__file__).resolve().parent.parent / "protocol" / "schema.json").read_text()
)
#: Error codes a refused frame may carry (internal-error is a server bug, reported apart).
DOCUMENTED_CODES = set(SCHEMA["errors"]) - {"internal-error"}
#: A request id the server can echo: an integer, or a string of at most this many characters.
MAX_REQUEST_ID = SCHEMA["kinds"]["requestId"]["maxLength"]
#: The direct answers to a request; exactly one per frame (none for accepted input/resize).
ANSWERS = {
    "error",
    "pong",
    "session.list",
    "profile.list",
    "session.attached",
    "session.detached",
    "session.created",
    "session.closed",
}
#: Frames the server may send unasked (a fuzzed frame may attach or close a session).
UNSOLICITED = {"terminal.output", "session.exited", "session.resized"}

DEEP = 100_000


# ------------------------------------------------------------------------------ strategies

VALID = [f for f in EXAMPLES["client"]["valid"]]
INVALID_TEXT = [ex["frame"] for ex in EXAMPLES["client"]["invalid"]]
FIELDS = ["type", "id", "sessionId", "data", "cwd", "rows", "cols", "replay", "since"]

lone_surrogate = st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
text_with_surrogate = st.builds(
    lambda a, s, b: a + s + b, st.text(max_size=8), lone_surrogate, st.text(max_size=8)
)
huge_int = st.sampled_from([2**63, -(2**63) - 1, 2**64 + 1, 10**40, 10**400, -(10**400)])
json_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | huge_int
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40)
    | text_with_surrogate
)
json_value = st.recursive(
    json_scalar,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=10) | text_with_surrogate, children, max_size=4)
    ),
    max_leaves=12,
)
odd_string = st.sampled_from(
    [
        "",
        "~nosuchuser",
        "~nosuchuser/x",
        "a" * 300,
        "a/" * 3000,
        "x\x00y",
        "../" * 50,
        "/" * 5000,
        "a" * 1025,
        "\u202e",
        "\ufeff",
        "été",
        "with space",
        "my-term",
    ]
)


def _deep(opening: str, closing: str, depth: int, inner: str = "0") -> str:
    return opening * depth + inner + closing * depth


SPECIAL_FRAMES = [
    _deep("[", "]", DEEP, ""),
    _deep('{"a":', "}", DEEP),
    '{"type":"ping","id":9,"x":' + _deep("[", "]", DEEP, "") + "}",
    '{"type":"ping","id":10,"x":' + _deep("[", "]", 900, "") + "}",
    '{"type":"session.create","cwd":"~nosuchuser","id":"cwd-1"}',
    '{"type":"session.create","cwd":"' + "a" * 300 + '","id":"cwd-2"}',
    '{"type":"session.create","cwd":"' + "a/" * 3000 + '","id":"cwd-3"}',
    '{"type":"session.create","cwd":"x\\u0000y","id":"cwd-4"}',
    '{"type":"session.create","cwd":"","id":"cwd-5"}',
    '{"type":"session.attach","sessionId":"' + "a" * 1025 + '","id":3}',
    '{"type":"ping","id":' + str(10**400) + "}",
    '{"type":"ping","id":' + "9" * 5000 + "}",
    '{"type":"ping","id":1e400}',
    '{"type":"ping","id":NaN}',
    '{"type":"ping","id":-0}',
    '{"type":"terminal.resize","sessionId":"x","rows":1e999,"cols":1,"id":4}',
    '{"type":"ping","type":"session.explode","id":5}',
    '{"type":"terminal.input","sessionId":"s","data":"\\ud800","id":6}',
    '{"\\udc00":1,"type":"ping","id":7}',
    '{"type":"ping\\udfff","id":8}',
    '{"type":"session.attach","sessionId":"\\ud83d","id":"sur"}',
    '\ufeff{"type":"ping"}',
    '{"type":"ping"}\x00',
    "",
    "null",
    "true",
    "1",
    '"x"',
    "[]",
    '{"type":null,"id":11}',
    '{"type":"__proto__","id":12}',
    '{"type":"constructor","id":13}',
]


@st.composite
def mutated(draw: Any) -> str:
    """A valid example frame with some fields replaced, removed, added or given lone surrogates."""
    msg: dict[str, Any] = dict(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(1, 3))):
        op = draw(st.sampled_from(["replace", "delete", "add", "surrogate", "odd", "id"]))
        key = draw(st.sampled_from(sorted(msg) or ["type"]) | st.sampled_from(FIELDS))
        if op == "replace":
            msg[key] = draw(json_value)
        elif op == "delete":
            msg.pop(key, None)
        elif op == "add":
            msg[draw(st.text(max_size=12) | st.sampled_from(FIELDS))] = draw(json_value)
        elif op == "surrogate":
            value = msg.get(key)
            s = value if isinstance(value, str) else ""
            i = draw(st.integers(0, len(s)))
            msg[key] = s[:i] + draw(lone_surrogate) + s[i:]
        elif op == "odd":
            msg[key] = draw(odd_string)
        else:
            msg["id"] = draw(st.text(max_size=20) | st.integers() | huge_int | text_with_surrogate)
    # Lone surrogates can only travel as JSON escapes: a UTF-8 text frame cannot hold them.
    return json.dumps(msg, ensure_ascii=draw(st.booleans()) or _has_surrogate(msg))


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return any(0xD800 <= ord(c) <= 0xDFFF for c in value)
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=True)


text_frame = st.one_of(
    mutated(),
    mutated(),
    mutated(),
    st.sampled_from(SPECIAL_FRAMES),
    st.sampled_from(INVALID_TEXT),
    json_value.map(_dumps),
    st.dictionaries(st.sampled_from(FIELDS), json_value, max_size=5).map(_dumps),
    st.builds(lambda t, i: _dumps({"type": t, "id": i}), st.text(max_size=30), st.integers()),
    st.text(max_size=60),
)
frame_strategy = st.one_of(
    text_frame.map(lambda t: ("text", t)),
    st.binary(max_size=64).map(lambda b: ("binary", b)),
)


# ------------------------------------------------------------------------------ the checks


def as_object(kind: str, frame: str | bytes) -> dict[str, Any] | None:
    """The frame as a JSON object, or None."""
    if kind != "text":
        return None
    try:
        msg = json.loads(frame)
    except (ValueError, RecursionError):
        return None
    return msg if isinstance(msg, dict) else None


def expected_id(kind: str, frame: str | bytes) -> tuple[bool, Any]:
    """(whether the frame carries an id the server can echo, that id), per schema.json."""
    msg = as_object(kind, frame)
    if msg is None or "id" not in msg:
        return False, None
    rid = msg["id"]
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return False, None
    if isinstance(rid, str) and (_has_surrogate(rid) or len(rid) > MAX_REQUEST_ID):
        return False, None
    return True, rid


class LogTrap(logging.Handler):
    """Keeps every log record that carries a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.bad: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info or "Traceback" in record.getMessage():
            self.bad.append(record)


@pytest.fixture
def log_trap() -> Any:
    """A handler on the root logger (the server's, tornado's and asyncio's loggers propagate)."""
    trap = LogTrap()
    root = logging.getLogger()
    root.addHandler(trap)
    yield trap
    root.removeHandler(trap)


def _short(value: Any, n: int = 160) -> str:
    s = repr(value)
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def test_fuzzed_frames_are_answered_and_never_cost_the_stream(
    connect, make_terminal, gen_script, term_manager, jp_asyncio_loop, log_trap
):
    """Thousands of random and mutated frames at one socket each get one named answer echoing a valid id, with no traceback logged, while another socket's numbered stream arrives whole."""
    loop = jp_asyncio_loop
    run = loop.run_until_complete
    sid = run(make_terminal(STREAM_SID))
    streamer = run(connect("streamer"))
    run(streamer.attach(sid, replay=False))
    mark = len(streamer.frames)
    streamer.type(sid, f"python3 {gen_script.name} stream Z 2000\r")
    run(streamer.wait_output(sid, "Z0000010\r\n", since=mark))

    fuzzed = run(connect("fuzzed"))
    violations: dict[str, list[str]] = {}
    counts = {"frames": 0, "examples": 0}
    started = time.monotonic()

    def violation(kind: str, detail: str) -> None:
        violations.setdefault(kind, []).append(detail)

    def attached_at(index: int) -> set[str]:
        """The sessions the fuzzed socket was attached to before frame ``index``."""
        attached: set[str] = set()
        for f in fuzzed.frames[:index]:
            if f.get("type") == "session.attached":
                attached.add(f.get("sessionId"))
            elif f.get("type") in ("session.detached", "session.exited"):
                attached.discard(f.get("sessionId"))
        return attached

    def end_fuzz_created_terminals() -> None:
        """Kill the terminals fuzzed frames created, so random input reaches no shell for long."""
        extra = [t for name, t in term_manager.terminals.items() if name != STREAM_SID]
        for term in extra:
            term.ptyproc.kill(signal.SIGKILL)
        if extra:
            run(
                poll_until(
                    lambda: set(term_manager.terminals) <= {STREAM_SID}, 20, "created ones to end"
                )
            )

    async def send_one(kind: str, frame: str | bytes) -> None:
        n = counts["frames"]
        counts["frames"] += 1
        since = len(fuzzed.frames)
        if kind == "binary":
            fuzzed.send_binary(frame)  # type: ignore[arg-type]
        else:
            fuzzed.send(frame)  # type: ignore[arg-type]
        barrier_id = f"fz-{n}"
        fuzzed.send({"type": "ping", "id": barrier_id})
        pong = await fuzzed.wait_frame(
            lambda f: f.get("id") == barrier_id, 30, since, what=f"barrier {n}"
        )
        between = fuzzed.frames[since : fuzzed.index_of(pong)]
        answers = [f for f in between if f.get("type") in ANSWERS]
        for f in between:
            if f.get("type") not in ANSWERS | UNSOLICITED:
                violation("unexpected frame", f"{_short(frame)} -> {_short(f)}")
        msg = as_object(kind, frame)
        if not answers and not (
            msg is not None
            and msg.get("type") in ("terminal.input", "terminal.resize")
            and msg.get("sessionId") in attached_at(since)
        ):
            # Not input to an attached session, which has no answer. session.close answers
            # from a task, so its answer may come after the pong.
            at = len(fuzzed.frames)
            try:
                late = await fuzzed.wait_frame(
                    lambda f: f.get("type") in ANSWERS, TIMEOUT, at, what="a late answer"
                )
            except AssertionError:
                violation("no answer", _short(frame))
                return
            answers = [late]
        if len(answers) > 1:
            violation("more than one answer", f"{_short(frame)} -> {_short(answers)}")
        has_id, rid = expected_id(kind, frame)
        for answer in answers:
            atype = answer.get("type")
            if atype == "error":
                code = answer.get("code")
                if code == "internal-error":
                    violation("internal-error", f"{_short(frame)} -> {_short(answer)}")
                elif code not in DOCUMENTED_CODES:
                    violation("undocumented error code", f"{_short(frame)} -> {_short(answer)}")
                if not isinstance(answer.get("message"), str):
                    violation("error without message", _short(answer))
            if has_id and (answer.get("id") != rid or type(answer.get("id")) is not type(rid)):
                violation(
                    "id not echoed", f"{_short(frame)} (id {_short(rid, 40)}) -> {_short(answer)}"
                )

    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # collect every violation; no shrinking
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(frame_strategy, min_size=1, max_size=3))
    def fuzz(frames: list[tuple[str, str | bytes]]) -> None:
        spent = time.monotonic() - started > FUZZ_SECONDS
        if (spent and counts["frames"] >= MIN_FRAMES) or fuzzed.closed.is_set():
            return
        counts["examples"] += 1
        for kind, frame in frames:
            run(send_one(kind, frame))
            if fuzzed.closed.is_set():
                violation("socket closed", f"code {fuzzed.close_code} after {_short(frame)}")
                return
        end_fuzz_created_terminals()

    # Every special frame once, then the generated ones.
    for special in SPECIAL_FRAMES:
        run(send_one("text", special))
    end_fuzz_created_terminals()
    fuzz()
    took = time.monotonic() - started

    (gen_script.parent / "stop_Z").touch()
    m = run(streamer.wait_output(sid, re.compile(r"tm_end_Z_(\d+) tm_done_Z"), 60, mark))
    total = int(m.group(1))
    print(
        f"fuzz: {counts['frames']} frames ({counts['examples']} hypothesis examples) in "
        f"{took:.1f} s; the stream delivered {total} lines meanwhile"
    )
    assert_contiguous(numbered(streamer.text(sid, mark), "Z"), 1, total, "the streamed session")
    assert not streamer.of_type("error", mark), streamer.of_type("error", mark)[:3]
    assert not fuzzed.closed.is_set(), f"the fuzzed socket closed with {fuzzed.close_code}"
    report = [
        f"{kind}: {len(items)} frames, e.g.\n    " + "\n    ".join(items[:4])
        for kind, items in sorted(violations.items())
    ]
    tracebacks = sorted(
        {
            f"{r.name}: {r.getMessage()[:100]} <- "
            + (repr(r.exc_info[1])[:150] if r.exc_info else "(traceback in the message)")
            for r in log_trap.bad
        }
    )
    if tracebacks:
        report.append(
            f"server log records with a traceback: {len(log_trap.bad)}, e.g.\n    "
            + "\n    ".join(tracebacks[:6])
        )
    assert not report, "\n".join(report)
    assert counts["frames"] >= MIN_FRAMES, f"only {counts['frames']} frames were sent"


# ---------------------------------------------------------------------- invalid UTF-8: 1007


@pytest.mark.parametrize(
    "payload",
    [
        b'\xff\xfe{"type":"ping"}',
        b'{"type":"ping","id":"\xe2\x82"}',  # a truncated 3-byte sequence
        b'{"type":"ping","id":"\xed\xa0\x80"}',  # a UTF-8-encoded surrogate
    ],
    ids=["bad-start-byte", "truncated-sequence", "encoded-surrogate"],
)
async def test_invalid_utf8_text_frame_closes_with_1007(
    jp_fetch, connect, jp_http_port, jp_base_url, jp_auth_header, payload
):
    """A text frame that is not valid UTF-8 closes that socket with 1007 (invalid frame payload data), not a silent 1006, and the server goes on serving."""
    await jp_fetch("api", "status")  # the server listens once a request was made
    path = jp_base_url.rstrip("/") + "/" + "/".join(SOCKET_PATH)
    sock, rest = await raw_handshake(jp_http_port, path, dict(jp_auth_header))
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_sendall(sock, ws_frame(0x1, payload))
        data = bytearray(rest)
        while True:  # read until the server's close frame or the end of the connection
            chunk = await asyncio.wait_for(loop.sock_recv(sock, 65536), 10)
            if not chunk:
                break
            data += chunk
            if len(data) >= 2 and data[0] & 0x0F == 0x8 and len(data) >= 2 + (data[1] & 0x7F):
                break
        assert data, "the connection ended without a close frame (1006)"
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        assert opcode == 0x8, f"first frame has opcode {opcode}, expected a close frame"
        code = int.from_bytes(data[2:4], "big") if length >= 2 else None
        assert code == 1007, f"closed with {code}, expected 1007"
    finally:
        sock.close()
    after = await connect("after")
    await after.barrier()
