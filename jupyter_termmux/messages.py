"""The termmux protocol as data, read from its one declaration, and the server's messages.

``protocol/schema.json`` declares the protocol for both languages (the wheel ships it as
``jupyter_termmux/schema.json``): this module reads it at import and builds the tables the
validator in ``protocol.py`` runs on (kinds, client messages and their fields), the defaults the
server announces and the terminal queries ``screen.py`` blanks. The server's messages are built
by the constructors at the end, plain dicts with no validation on the output path; the tests
check every frame the server sends against the declaration (``tests/protocol_check.py``).
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Union


def _schema_path() -> Path:
    """The wheel's copy beside this module, else the checkout's ``protocol/schema.json``."""
    packaged = Path(__file__).with_name("schema.json")
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parent.parent / "protocol" / "schema.json"


#: The declaration, as JSON.
SCHEMA: dict[str, Any] = json.loads(_schema_path().read_text(encoding="utf-8"))
_KIND_SPECS: dict[str, dict[str, Any]] = SCHEMA["kinds"]

#: The newest protocol version, and the WebSocket subprotocol that selects each one.
PROTOCOL_VERSION: int = SCHEMA["protocol"]
SUBPROTOCOLS: dict[str, int] = dict(SCHEMA["subprotocols"])

#: The limits a server announces when not configured otherwise (``hello``'s ``limits``).
DEFAULTS: dict[str, Any] = {k: v for k, v in SCHEMA["defaults"].items() if k != "comment"}

#: Terminal queries a replay must not make a client answer (``screen.scrub_queries``).
QUERIES: dict[str, Any] = {k: v for k, v in SCHEMA["queries"].items() if k != "comment"}

RequestId = Union[str, int]

#: Looking a session up: any name the terminal manager holds (the REST API accepts any), never
#: used to build a path. At most this many characters.
MAX_SESSION_ID: int = _KIND_SPECS["sessionId"]["maxLength"]

#: Naming a new session: a name the REST API, the classic terminal socket
#: (``/terminals/websocket/(\w+)``, matched before URL-decoding) and this socket all serve.
NEW_SESSION_ID_RE = re.compile(_KIND_SPECS["newSessionId"]["pattern"].strip("^$"))

MAX_REQUEST_ID: int = _KIND_SPECS["requestId"]["maxLength"]
MAX_PATH: int = _KIND_SPECS["path"]["maxLength"]
MAX_SIZE: int = _KIND_SPECS["size"]["maximum"]
MAX_OFFSET: int = _KIND_SPECS["offset"]["maximum"]
MAX_CHANNEL: int = _KIND_SPECS["channel"]["maximum"]
MAX_ACK: int = _KIND_SPECS["count"]["maximum"]
#: A ``resume`` token sent back in ``session.attach``: the server issues at most 64 characters;
#: the bound leaves it room to change its tokens without a new protocol version.
MAX_RESUME: int = _KIND_SPECS["resume"]["maxLength"]

#: How a socket attaches a session: ``write`` (the default) takes input and sets the PTY's
#: size; ``view`` only watches (a read-only viewer, as tmux's ``attach -r``).
WRITE = "write"
VIEW = "view"
ATTACH_MODES: tuple[str, ...] = tuple(_KIND_SPECS["attachMode"]["enum"])


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


def _scalar_check(spec: dict[str, Any]) -> tuple[Check, str] | None:
    """The check and wording of a client field kind (a string, an integer or a boolean), or
    None for kinds only the server sends. A ``pattern`` is not checked here: ``parse`` refuses
    a new session's name with its own error code."""
    kind = spec["type"]
    if kind == "boolean":
        return (lambda v: isinstance(v, bool)), "a boolean"
    if kind == "integer":
        low, high = spec["minimum"], spec["maximum"]

        def bounded_int(v: Any) -> bool:
            # bool is an int subclass in Python; JSON true is not a number.
            return isinstance(v, int) and not isinstance(v, bool) and low <= v <= high

        return bounded_int, f"an integer from {low} to {high}"
    if kind != "string":
        return None
    if "enum" in spec:
        values = tuple(spec["enum"])
        return (lambda v: isinstance(v, str) and v in values), " or ".join(map(repr, values))
    if "maxLength" in spec:
        most = spec["maxLength"]
        return (
            lambda v: isinstance(v, str) and len(v) <= most
        ), f"a string of at most {most} characters"
    return (lambda v: isinstance(v, str)), "a string"


@dataclass(frozen=True)
class Kind:
    """A kind of field value (``kinds`` in protocol/schema.json)."""

    name: str
    check: Check
    expected: str


def _kinds() -> dict[str, Kind]:
    kinds = {}
    for name, spec in _KIND_SPECS.items():
        made = _scalar_check(spec)
        if made is not None:
            kinds[name] = Kind(name, *made)
    return kinds


#: The kinds client fields may have, with their checks (``protocol.parse``).
KINDS: dict[str, Kind] = _kinds()


@dataclass(frozen=True)
class Field:
    """One field of a client message: its JSON name, kind, and default."""

    name: str
    kind: Kind
    required: bool = False
    default: Any = None
    since: int = 1


def _fields(spec: dict[str, Any]) -> tuple[Field, ...]:
    """A message's fields: its entries that are objects (a number under ``since`` or
    ``until`` is the message's version)."""
    return tuple(
        Field(name, KINDS[f["kind"]], f.get("required", False), f.get("default"), f.get("since", 1))
        for name, f in spec.items()
        if isinstance(f, dict)
    )


def _versions(spec: dict[str, Any]) -> tuple[int, int]:
    first, last = spec.get("since"), spec.get("until")
    return (
        first if isinstance(first, int) else 1,
        last if isinstance(last, int) else PROTOCOL_VERSION,
    )


#: Client -> server messages and their fields, and the protocol version each one appeared in.
CLIENT_MESSAGES: dict[str, tuple[Field, ...]] = {
    mtype: _fields(spec) for mtype, spec in SCHEMA["client"].items()
}
MESSAGE_SINCE: dict[str, int] = {
    mtype: _versions(spec)[0] for mtype, spec in SCHEMA["client"].items() if _versions(spec)[0] > 1
}

#: Server -> client message types, and the versions that have each one.
SERVER_MESSAGES: tuple[str, ...] = tuple(SCHEMA["server"])
SERVER_VERSIONS: dict[str, tuple[int, int]] = {
    mtype: _versions(spec) for mtype, spec in SCHEMA["server"].items()
}


# --- server messages --------------------------------------------------------------------
# One constructor per message type of the declaration's "server" section; tests check what
# each builds against it (tests/test_protocol_schema.py). Optional fields are left out when
# None, and ``request_id`` is the ``id`` of the request answered, echoed back.

Message = dict[str, Any]


def _msg(mtype: str, request_id: RequestId | None, **fields: Any) -> Message:
    msg: Message = {"type": mtype}
    msg.update((k, v) for k, v in fields.items() if v is not None)
    if request_id is not None:
        msg["id"] = request_id
    return msg


#: This server process: a client that sees another one after reconnecting knows the server
#: restarted (its kept terminals went on, see ``kept.py``).
BOOT = secrets.token_hex(8)


def hello(version: str, limits: dict[str, Any], access: Sequence[str], viewers: bool) -> Message:
    """The first frame on protocol v2: who the server is, its limits, what the user may do."""
    return _msg(
        "hello",
        None,
        protocol=PROTOCOL_VERSION,
        server="jupyter-termmux",
        version=version,
        boot=BOOT,
        limits=limits,
        access=list(access),
        viewers=viewers,
    )


def attached(
    session_id: str,
    size: tuple[int, int] | None,
    request_id: RequestId | None = None,
    *,
    channel: int | None = None,
    incarnation: str | None = None,
    offset: int | None = None,
    truncated: bool | None = None,
    resume: str | None = None,
    preamble: str | None = None,
) -> Message:
    """``session.attached``: the PTY's size when it has one, and on v2 the stream's channel,
    life, start, whether it was cut, its resume token and the modes to draw from scratch in."""
    rows, cols = size if size is not None else (None, None)
    return _msg(
        "session.attached",
        request_id,
        sessionId=session_id,
        rows=rows,
        cols=cols,
        channel=channel,
        incarnation=incarnation,
        offset=offset,
        truncated=truncated,
        preamble=preamble,
        resume=resume,
    )


def truncated(session_id: str, channel: int, offset: int, preamble: str) -> Message:
    """v2: the subscriber fell behind history; its stream goes on at ``offset`` after a reset."""
    return _msg(
        "session.truncated",
        None,
        sessionId=session_id,
        channel=channel,
        offset=offset,
        preamble=preamble,
    )


def skipped(session_id: str, channel: int, offset: int, preamble: str) -> Message:
    """v2: a view far behind skips ahead to ``offset``; write ``preamble``, no reset."""
    return _msg(
        "session.skipped",
        None,
        sessionId=session_id,
        channel=channel,
        offset=offset,
        preamble=preamble,
    )


def detached(
    session_id: str, request_id: RequestId | None = None, reason: str | None = None
) -> Message:
    """``session.detached``: an answer to ``session.detach``, or v1's unsolicited ``slow``."""
    return _msg("session.detached", request_id, sessionId=session_id, reason=reason)


def resized(session_id: str, rows: int, cols: int) -> Message:
    """The PTY took another size."""
    return _msg("session.resized", None, sessionId=session_id, rows=rows, cols=cols)


def created(session_id: str, request_id: RequestId | None = None) -> Message:
    """``session.created``."""
    return _msg("session.created", request_id, sessionId=session_id)


def closed(session_id: str, request_id: RequestId | None = None) -> Message:
    """``session.closed``."""
    return _msg("session.closed", request_id, sessionId=session_id)


def session_list(sessions: list[dict[str, Any]], request_id: RequestId | None = None) -> Message:
    """``session.list``: every terminal (``introspect.session_list``)."""
    return _msg("session.list", request_id, sessions=sessions)


def profile_list(profiles: list[dict[str, Any]], request_id: RequestId | None = None) -> Message:
    """``profile.list``: the server's shell profiles (``Profile.describe``)."""
    return _msg("profile.list", request_id, profiles=profiles)


def pong(request_id: RequestId | None = None) -> Message:
    """The answer to ``ping``."""
    return _msg("pong", request_id)


def output(session_id: str, data: str, replay: bool = False) -> Message:
    """v1 ``terminal.output`` (the output path encodes it with ``protocol.encode_output``)."""
    return _msg(
        "terminal.output", None, sessionId=session_id, data=data, replay=True if replay else None
    )


def exited(session_id: str, exit_code: int | None, signal: str | None = None) -> Message:
    """``session.exited``: ``exitCode`` is null when unknown, ``signal`` names a killing one."""
    msg: Message = {"type": "session.exited", "sessionId": session_id, "exitCode": exit_code}
    if signal is not None:
        msg["signal"] = signal
    return msg


def error(
    code: str,
    message: str,
    session_id: str | None = None,
    request: str | None = None,
    request_id: RequestId | None = None,
) -> Message:
    """``error``: a refused request (``protocol.ProtocolError``) or an unsolicited failure."""
    return _msg(
        "error", request_id, code=code, message=message, sessionId=session_id, request=request
    )
