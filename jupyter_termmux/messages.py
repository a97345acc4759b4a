"""The termmux message table as data: every client message, its fields, their kinds and bounds.

``protocol/schema.json`` is the one source of the protocol for both languages;
``tests/test_protocol_schema.py`` checks this table against it field by field, as
``labextension/src/schema.spec.ts`` does for TypeScript. Validation itself is in ``protocol.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, Union

#: The newest protocol version, and the WebSocket subprotocol that selects each one.
PROTOCOL_VERSION = 2
SUBPROTOCOLS = {"termmux.v2": 2}

RequestId = Union[str, int]

#: Looking a session up: any name the terminal manager holds (the REST API accepts any), never
#: used to build a path. At most this many characters.
MAX_SESSION_ID = 1024

#: Naming a new session: a name the REST API, the classic terminal socket
#: (``/terminals/websocket/(\w+)``, matched before URL-decoding) and this socket all serve.
NEW_SESSION_ID_RE = re.compile(r"[A-Za-z0-9_]{1,64}")

MAX_REQUEST_ID = 128
MAX_PATH = 4096
MAX_SIZE = 4096
MAX_OFFSET = 2**53 - 1
MAX_CHANNEL = 2**32 - 1
MAX_ACK = 2**30
#: A ``resume`` token sent back in ``session.attach``: the server issues at most 64 characters;
#: the bound leaves it room to change its tokens without a new protocol version.
MAX_RESUME = 128

#: How a socket attaches a session: ``write`` (the default) takes input and sets the PTY's
#: size; ``view`` only watches (a read-only viewer, as tmux's ``attach -r``).
WRITE = "write"
VIEW = "view"
ATTACH_MODES = (WRITE, VIEW)


# --- field kinds -------------------------------------------------------------------------

Check = Callable[[Any], bool]


def _is_unicode(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _is_bool(v: Any) -> bool:
    return isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


def _bounded_int(low: int, high: int) -> Check:
    def check(v: Any) -> bool:
        # bool is an int subclass in Python; JSON true is not a number.
        return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high

    return check


def _one_of(*values: str) -> Check:
    def check(v: Any) -> bool:
        return isinstance(v, str) and v in values

    return check


def _bounded_str(most: int) -> Check:
    def check(v: Any) -> bool:
        return isinstance(v, str) and len(v) <= most

    return check


@dataclass(frozen=True)
class Kind:
    """A kind of field value (``kinds`` in protocol/schema.json)."""

    name: str
    check: Check
    expected: str


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(
            "sessionId",
            _bounded_str(MAX_SESSION_ID),
            f"a string of at most {MAX_SESSION_ID} characters",
        ),
        Kind("newSessionId", _is_str, "a string"),  # the pattern is checked in parse()
        Kind("boolean", _is_bool, "a boolean"),
        Kind("text", _is_str, "a string"),
        Kind("path", _bounded_str(MAX_PATH), f"a string of at most {MAX_PATH} characters"),
        Kind("size", _bounded_int(1, MAX_SIZE), f"an integer from 1 to {MAX_SIZE}"),
        Kind("offset", _bounded_int(0, MAX_OFFSET), f"an integer from 0 to {MAX_OFFSET}"),
        Kind("channel", _bounded_int(1, MAX_CHANNEL), f"an integer from 1 to {MAX_CHANNEL}"),
        Kind("count", _bounded_int(1, MAX_ACK), f"an integer from 1 to {MAX_ACK}"),
        Kind("incarnation", _bounded_str(128), "a string of at most 128 characters"),
        Kind("resume", _bounded_str(MAX_RESUME), f"a string of at most {MAX_RESUME} characters"),
        Kind("profile", _bounded_str(128), "a string of at most 128 characters"),
        Kind("attachMode", _one_of(*ATTACH_MODES), " or ".join(map(repr, ATTACH_MODES))),
    )
}


@dataclass(frozen=True)
class Field:
    """One field of a client message: its JSON name, kind, and default."""

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    since: int = 1


def _f(name: str, kind: str, required: bool = False, default: Any = None, since: int = 1) -> Field:
    return Field(name, KINDS[kind], required, default, since)


#: Client -> server messages and their fields (protocol/schema.json, as data), and the
#: protocol version each message appeared in.
CLIENT_MESSAGES: dict[str, tuple[Field, ...]] = {
    "session.attach": (
        _f("sessionId", "sessionId", True),
        _f("replay", "boolean", default=True),
        _f("since", "offset", since=2),
        _f("incarnation", "incarnation", since=2),
        _f("resume", "resume", since=2),
        _f("mode", "attachMode", default=WRITE),
    ),
    "session.detach": (_f("sessionId", "sessionId", True),),
    "terminal.input": (_f("sessionId", "sessionId", True), _f("data", "text", True)),
    "terminal.resize": (
        _f("sessionId", "sessionId", True),
        _f("rows", "size", True),
        _f("cols", "size", True),
    ),
    "session.create": (
        _f("sessionId", "newSessionId"),
        _f("cwd", "path"),
        _f("rows", "size"),
        _f("cols", "size"),
        _f("profile", "profile"),
    ),
    "session.close": (_f("sessionId", "sessionId", True),),
    "session.list": (),
    "profile.list": (),
    "ping": (),
    "ack": (_f("channel", "channel", True), _f("bytes", "count", True)),
}
MESSAGE_SINCE = {"ack": 2}

#: Server -> client message types (their fields are in protocol/schema.json).
SERVER_MESSAGES = (
    "hello",
    "session.attached",
    "session.truncated",
    "session.skipped",
    "session.detached",
    "session.resized",
    "session.created",
    "session.closed",
    "session.list",
    "profile.list",
    "pong",
    "terminal.output",
    "session.exited",
    "error",
)
