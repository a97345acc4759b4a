"""The termmux wire protocol: error and close codes, validation of client frames, encoding.

Pure functions only (no I/O), so every rule here has a fast unit test. The message table they
validate against is ``messages.py`` (checked against ``protocol/schema.json``).
``protocol/examples.json`` holds example frames that both test suites load.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any

from . import messages
from .messages import (
    CLIENT_MESSAGES,
    MAX_REQUEST_ID,
    MESSAGE_SINCE,
    NEW_SESSION_ID_RE,
    SERVER_MESSAGES,
    SUBPROTOCOLS,
    RequestId,
    _is_unicode,
)

__all__ = [
    "CLIENT_MESSAGES",
    "SERVER_MESSAGES",
    "SUBPROTOCOLS",
    "CloseCode",
    "ErrorCode",
    "ProtocolError",
    "Request",
    "encode",
    "parse",
]


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
    #: The server's authorizer does not let this socket's user do that (``access.py``).
    FORBIDDEN = "forbidden"
    #: Input or resize on a session attached in ``view`` mode.
    READ_ONLY = "read-only"
    INTERNAL_ERROR = "internal-error"


class CloseCode(enum.IntEnum):
    """WebSocket close codes the server uses (RFC 6455 section 7.4.1)."""

    #: The client or server ended the connection on purpose.
    NORMAL = 1000
    #: The server is shutting down; clients should reconnect later.
    GOING_AWAY = 1001
    #: A text frame that is not valid UTF-8 (RFC 6455 section 8.1).
    INVALID_PAYLOAD = 1007
    #: The client broke a rule of the server's: it sends requests but does not read replies.
    POLICY_VIOLATION = 1008
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
        return messages.error(
            self.code.value, self.message, self.session_id, self.request, self.request_id
        )


@dataclass(frozen=True)
class Request:
    """A validated client message."""

    type: str
    session_id: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    id: RequestId | None = None


def _request_id(msg: dict[str, Any]) -> RequestId | None:
    """The message's ``id`` if it can be echoed back, else None."""
    rid = msg.get("id")
    if isinstance(rid, bool) or not isinstance(rid, (str, int)):
        return None
    if isinstance(rid, str) and (len(rid) > MAX_REQUEST_ID or not _is_unicode(rid)):
        return None
    return rid


def _load(frame: str | bytes, max_size: int) -> dict[str, Any]:
    """The JSON object a frame holds, or ProtocolError."""
    if isinstance(frame, bytes):
        raise ProtocolError(
            ErrorCode.BINARY_FRAME, "binary frames are not accepted; send JSON text frames"
        )
    size = len(frame) if frame.isascii() else len(frame.encode("utf-8", "surrogatepass"))
    if size > max_size:
        raise ProtocolError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"frame of {size} bytes exceeds the limit of {max_size} bytes",
        )
    try:
        msg = json.loads(frame)
    except RecursionError:
        raise ProtocolError(ErrorCode.INVALID_JSON, "frame is nested too deeply") from None
    except ValueError as e:
        raise ProtocolError(ErrorCode.INVALID_JSON, f"frame is not valid JSON: {e}") from None
    if not isinstance(msg, dict):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, f"frame must be a JSON object, not {type(msg).__name__}"
        )
    return msg


def parse(frame: str | bytes, max_size: int, version: int = 1) -> Request:
    """Validate one WebSocket frame and return the request it holds, or raise ProtocolError."""
    msg = _load(frame, max_size)
    request_id = _request_id(msg)
    mtype = msg.get("type")
    if not isinstance(mtype, str) or not _is_unicode(mtype):
        raise ProtocolError(
            ErrorCode.INVALID_MESSAGE, "frame has no string field 'type'", request_id=request_id
        )
    raw_sid = msg.get("sessionId")
    sid = raw_sid if isinstance(raw_sid, str) and _is_unicode(raw_sid) else None

    def refuse(code: ErrorCode, text: str) -> ProtocolError:
        return ProtocolError(code, text, request=mtype, request_id=request_id, session_id=sid)

    for key, value in msg.items():
        # JSON escapes can spell lone surrogates ("\ud800"), which no UTF-8 frame can carry
        # back, nor a PTY take. repr() keeps this message itself encodable.
        if not _is_unicode(key) or (isinstance(value, str) and not _is_unicode(value)):
            raise refuse(
                ErrorCode.INVALID_FIELD, f"field {key!r} is not valid Unicode (lone surrogate)"
            )
    if "id" in msg and request_id is None:
        raise refuse(
            ErrorCode.INVALID_FIELD,
            f"field 'id' must be a string of at most {MAX_REQUEST_ID} characters or an integer",
        )
    fields = CLIENT_MESSAGES.get(mtype)
    if fields is None or MESSAGE_SINCE.get(mtype, 1) > version:
        raise ProtocolError(
            ErrorCode.UNKNOWN_TYPE, f"unknown message type {mtype!r}", request_id=request_id
        )
    args: dict[str, Any] = {}
    for f in fields:
        if f.name not in msg or f.since > version:
            if f.required:
                raise refuse(ErrorCode.INVALID_FIELD, f"field {f.name!r} is required for {mtype}")
            args[f.name] = f.default
            continue
        value = msg[f.name]
        if not f.kind.check(value):
            raise refuse(ErrorCode.INVALID_FIELD, f"field {f.name!r} must be {f.kind.expected}")
        args[f.name] = value
    session_id = args.pop("sessionId", None)
    if (
        mtype == "session.create"
        and session_id is not None
        and not NEW_SESSION_ID_RE.fullmatch(session_id)
    ):
        raise refuse(
            ErrorCode.INVALID_SESSION_ID,
            f"invalid name for a new session {session_id!r}: use 1 to 64 of A-Z, a-z, 0-9 "
            "and _ (names the REST API and JupyterLab's terminal can serve too)",
        )
    return Request(mtype, session_id, args, request_id)


def encode(msg: dict[str, Any]) -> str:
    """Encode a server message as a compact JSON text frame."""
    return json.dumps(msg, ensure_ascii=False, separators=(",", ":"))


def output_prefix(session_id: str) -> str:
    """The constant head of a session's ``terminal.output`` frames (see ``encode_output``)."""
    return '{"type":"terminal.output","sessionId":' + encode_basestring(session_id) + ',"data":'


def encode_output(prefix: str, data: str, replay: bool = False) -> str:
    """Encode v1 ``terminal.output`` on the hot path: one C-level string escape, no dict."""
    return prefix + encode_basestring(data) + (',"replay":true}' if replay else "}")
