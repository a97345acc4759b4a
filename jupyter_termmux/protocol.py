"""The termmux wire protocol, declared once as data: message types, validation, encoding.

Pure functions only (no I/O), so every rule here has a fast unit test. The README's
"Wire protocol" section documents the same table for people; ``protocol/examples.json``
holds example frames that the Python and TypeScript test suites both load.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, Callable, Union

PROTOCOL_VERSION = 1

RequestId = Union[str, int]

#: Terminal names as terminado and jupyter_server_terminals route them (``/terminals/websocket/(\w+)``).
SESSION_ID_RE = re.compile(r"\w{1,255}")


class ErrorCode(str, enum.Enum):
    """The ``code`` of an ``error`` message; documented in the README."""

    INVALID_JSON = "invalid-json"
    INVALID_MESSAGE = "invalid-message"
    UNKNOWN_TYPE = "unknown-type"
    INVALID_FIELD = "invalid-field"
    BINARY_FRAME = "binary-frame"
    MESSAGE_TOO_LARGE = "message-too-large"
    INVALID_SESSION_ID = "invalid-session-id"
    UNKNOWN_SESSION = "unknown-session"
    NOT_ATTACHED = "not-attached"
    SESSION_EXISTS = "session-exists"
    TOO_MANY_SESSIONS = "too-many-sessions"
    CREATE_FAILED = "create-failed"
    INPUT_OVERFLOW = "input-overflow"
    INTERNAL_ERROR = "internal-error"


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4.1)."""

    #: The client or server ended the connection on purpose.
    NORMAL = 1000
    #: The server is shutting down; clients should reconnect later.
    GOING_AWAY = 1001
    #: A frame exceeded the hard size limit; tornado refuses it before reading it.
    MESSAGE_TOO_BIG = 1009
    #: An unexpected server error; never a silent 1006.
    INTERNAL_ERROR = 1011


class ProtocolError(Exception):
    """A client frame the server refuses; becomes an ``error`` message, never a closed socket."""

    def __init__(
        self,
        code: ErrorCode,
        message: str,
        *,
        session_id: str | None = None,
        request: str | None = None,
        request_id: RequestId | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.session_id = session_id
        self.request = request
        self.request_id = request_id

    def to_message(self) -> dict[str, Any]:
        """The ``error`` message that answers the refused frame."""
        msg: dict[str, Any] = {"type": "error", "code": self.code.value, "message": self.message}
        if self.session_id is not None:
            msg["sessionId"] = self.session_id
        if self.request is not None:
            msg["request"] = self.request
        if self.request_id is not None:
            msg["id"] = self.request_id
        return msg


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


def _is_positive_int(v: Any) -> bool:
    # bool is an int subclass in Python; JSON true is not a size.
    return isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 0xFFFF


@dataclass(frozen=True)
class Field:
    """One field of a client message: its JSON name, how to check it, and its default."""

    name: str
    check: Check
    expected: str
    required: bool = True
    default: Any = None


SESSION_ID = Field("sessionId", _is_str, "a string")
OPTIONAL_SESSION_ID = Field("sessionId", _is_str, "a string", required=False)

#: Client -> server messages and their fields (the README's table, as data).
CLIENT_MESSAGES: dict[str, tuple[Field, ...]] = {
    "session.attach": (SESSION_ID, Field("replay", _is_bool, "a boolean", False, True)),
    "session.detach": (SESSION_ID,),
    "terminal.input": (SESSION_ID, Field("data", _is_str, "a string")),
    "terminal.resize": (
        SESSION_ID,
        Field("rows", _is_positive_int, "an integer from 1 to 65535"),
        Field("cols", _is_positive_int, "an integer from 1 to 65535"),
    ),
    "session.create": (
        OPTIONAL_SESSION_ID,
        Field("cwd", _is_str, "a string", required=False),
        Field("rows", _is_positive_int, "an integer from 1 to 65535", required=False),
        Field("cols", _is_positive_int, "an integer from 1 to 65535", required=False),
    ),
    "session.close": (SESSION_ID,),
    "session.list": (),
    "ping": (),
}

#: Server -> client message types (their fields are documented in the README).
SERVER_MESSAGES = (
    "session.attached",
    "session.detached",
    "session.created",
    "session.closed",
    "session.list",
    "pong",
    "terminal.output",
    "session.exited",
    "error",
)


@dataclass(frozen=True)
class Request:
    """A validated client message."""

    type: str
    session_id: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    id: RequestId | None = None


def utf8_length(text: str) -> int:
    """Length of ``text`` in UTF-8 bytes, without encoding when it is ASCII (the common case)."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


def parse(frame: str | bytes, max_size: int) -> Request:
    """Validate one WebSocket frame and return the request it holds, or raise ProtocolError."""
    if isinstance(frame, bytes):
        raise ProtocolError(
            ErrorCode.BINARY_FRAME, "binary frames are not accepted; send JSON text frames"
        )
    size = utf8_length(frame)
    if size > max_size:
        raise ProtocolError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"frame of {size} bytes exceeds the limit of {max_size} bytes",
        )
    try:
        msg = json.loads(frame)
    except ValueError as e:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"frame is not valid JSON: {e}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"frame must be a JSON object, not {type(msg).__name__}"
        )
    for key, value in msg.items():
        # JSON escapes can spell lone surrogates ("\ud800"), which no UTF-8 frame can carry
        # back, nor a PTY take. repr() keeps this message itself encodable.
        if not _is_unicode(key) or (isinstance(value, str) and not _is_unicode(value)):
            raise ProtocolError(
                ErrorCode.INVALID_FIELD, f"field {key!r} is not valid Unicode (lone surrogate)"
            )
    mtype = msg.get("type")
    if not isinstance(mtype, str):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "frame has no string field 'type'")

    request_id = msg.get("id")
    if request_id is not None and (
        isinstance(request_id, bool) or not isinstance(request_id, (str, int))
    ):
        raise ProtocolError(
            ErrorCode.INVALID_FIELD, "field 'id' must be a string or an integer", request=mtype
        )
    fields = CLIENT_MESSAGES.get(mtype)
    if fields is None:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown message type {mtype!r}", request_id=request_id
        )

    raw_sid = msg.get("sessionId")
    sid = raw_sid if isinstance(raw_sid, str) else None
    args: dict[str, Any] = {}
    for f in fields:
        if f.name not in msg:
            if f.required:
                raise ProtocolError(
                    ErrorCode.INVALID_FIELD,
                    f"field {f.name!r} is required for {mtype}",
                    request=mtype,
                    request_id=request_id,
                    session_id=sid,
                )
            args[f.name] = f.default
            continue
        value = msg[f.name]
        if not f.check(value):
            raise ProtocolError(
                ErrorCode.INVALID_FIELD,
                f"field {f.name!r} must be {f.expected}",
                request=mtype,
                request_id=request_id,
                session_id=sid,
            )
        args[f.name] = value
    session_id = args.pop("sessionId", None)
    if session_id is not None and not SESSION_ID_RE.fullmatch(session_id):
        raise ProtocolError(
            ErrorCode.INVALID_SESSION_ID,
            f"invalid session id {session_id!r}: terminal names match \\w+ (at most 255)",
            session_id=session_id,
            request=mtype,
            request_id=request_id,
        )
    return Request(mtype, session_id, args, request_id)


def encode(msg: dict[str, Any]) -> str:
    """Encode a server message as a compact JSON text frame."""
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"))


def output_prefix(session_id: str) -> str:
    """The constant head of a session's ``terminal.output`` frames (see ``encode_output``)."""
    return '{"type":"terminal.output","sessionId":' + encode_basestring(session_id) + ',"data":'


def encode_output(prefix: str, data: str) -> str:
    """Encode ``terminal.output`` on the hot path: one C-level string escape, no dict."""
    return prefix + encode_basestring(data) + "}"


def reply(msg_type: str, request_id: RequestId | None = None, **fields: Any) -> dict[str, Any]:
    """A server message, echoing the request's ``id`` when it had one."""
    msg: dict[str, Any] = {"type": msg_type, **fields}
    if request_id is not None:
        msg["id"] = request_id
    return msg
