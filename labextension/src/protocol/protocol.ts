/**
 * Message types of `{base_url}api/termmux/socket`, protocol v1 (README) and
 * v2 (protocol/PROTOCOL.md): declared once for TypeScript. The field table
 * and validation live in schema.ts, server-frame decoding in decode.ts, the
 * v2 binary output frame in binary.ts. Pure types and encoding, no I/O.
 */

/** A request id, echoed by the server in the direct answer. */
export type RequestId = string | number;

/** The WebSocket subprotocol that selects v2 (PROTOCOL.md "Negotiation"). */
export const SUBPROTOCOL_V2 = 'termmux.v2';

/** Protocol versions the panel speaks. */
export type ProtocolVersion = 1 | 2;

// ---------------------------------------------------------------- client → server

/** How a tab attaches: `write` types and sets the size, `view` only watches. */
export type AttachMode = 'write' | 'view';

export interface IAttachMessage {
  type: 'session.attach';
  sessionId: string;
  replay?: boolean;
  /** `write` (the default) or `view` (read-only; needs only read permission). */
  mode?: AttachMode;
  /** v2: the offset up to which this client already has the output. */
  since?: number;
  /** v2: the incarnation this client saw (a different one means a new shell). */
  incarnation?: string;
  /**
   * v2, only with `since`: the `resume` token of this session's last
   * `session.attached`, so the server releases exactly the reservation it
   * kept for that subscription.
   */
  resume?: string;
  id?: RequestId;
}

export interface IDetachMessage {
  type: 'session.detach';
  sessionId: string;
  id?: RequestId;
}

export interface IInputMessage {
  type: 'terminal.input';
  sessionId: string;
  data: string;
  id?: RequestId;
}

export interface IResizeMessage {
  type: 'terminal.resize';
  sessionId: string;
  rows: number;
  cols: number;
  id?: RequestId;
}

export interface ICreateMessage {
  type: 'session.create';
  sessionId?: string;
  cwd?: string;
  /** Start the program at this size (both or neither). */
  rows?: number;
  cols?: number;
  /** One of the server's shell profiles (`profile.list`). */
  profile?: string;
  id?: RequestId;
}

export interface ICloseMessage {
  type: 'session.close';
  sessionId: string;
  id?: RequestId;
}

export interface IListMessage {
  type: 'session.list';
  id?: RequestId;
}

export interface IProfileListMessage {
  type: 'profile.list';
  id?: RequestId;
}

export interface IPingMessage {
  type: 'ping';
  id?: RequestId;
}

/** v2: credit returned for payload bytes xterm.js has parsed on a channel. */
export interface IAckMessage {
  type: 'ack';
  channel: number;
  bytes: number;
  id?: RequestId;
}

export type ClientMessage =
  | IAttachMessage
  | IDetachMessage
  | IInputMessage
  | IResizeMessage
  | ICreateMessage
  | ICloseMessage
  | IListMessage
  | IProfileListMessage
  | IPingMessage
  | IAckMessage;

export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------- server → client

/** v2: limits announced in `hello`. */
export interface IServerLimits {
  historyLimit?: number;
  maxMessageSize?: number;
  maxSessionsPerSocket?: number;
  window?: number;
  socketWindow?: number;
  ackBytes?: number;
  resumeHold?: number;
  /** Most payload bytes in one binary output frame. */
  frameBytes?: number;
}

/** v2: the server's first frame after selecting `termmux.v2`. */
export interface IHelloMessage {
  type: 'hello';
  protocol: number;
  server: string;
  version: string;
  limits: IServerLimits;
  /** What this user may do on terminals: some of read, write, execute. */
  access?: string[];
  /** Whether the server lets users with only read permission watch (allow_viewers). */
  viewers?: boolean;
  /** The server process: another one after a reconnect means the server restarted. */
  boot?: string;
}

export interface IAttachedMessage {
  type: 'session.attached';
  sessionId: string;
  /** The PTY's size, when it has one. */
  rows?: number;
  cols?: number;
  /** v2 fields (absent on v1). */
  channel?: number;
  incarnation?: string;
  offset?: number;
  truncated?: boolean;
  preamble?: string;
  /** An opaque token naming this subscription, sent back to resume it. */
  resume?: string;
  id?: RequestId;
}

/** v2: this subscriber fell behind history; reset, write the preamble, go on. */
export interface ITruncatedMessage {
  type: 'session.truncated';
  sessionId: string;
  channel: number;
  offset: number;
  preamble: string;
}

/**
 * v2: this view was far behind its session's output and skips ahead to
 * `offset` (a line start near the end); write the preamble (the modes in force
 * there) and go on, without a reset.
 */
export interface ISkippedMessage {
  type: 'session.skipped';
  sessionId: string;
  channel: number;
  offset: number;
  preamble: string;
}

export interface IDetachedMessage {
  type: 'session.detached';
  sessionId: string;
  reason?: string;
  id?: RequestId;
}

/** The PTY took another size (that of its most recently active writer). */
export interface IResizedMessage {
  type: 'session.resized';
  sessionId: string;
  rows: number;
  cols: number;
}

export interface ICreatedMessage {
  type: 'session.created';
  sessionId: string;
  id?: RequestId;
}

export interface IClosedMessage {
  type: 'session.closed';
  sessionId: string;
  id?: RequestId;
}

export interface ISessionInfo {
  sessionId: string;
  clients: number;
  attached: boolean;
  /** Clients that may type (classic terminal sockets among them), and viewers. */
  writers?: number;
  viewers?: number;
}

export interface IListReplyMessage {
  type: 'session.list';
  sessions: ISessionInfo[];
  id?: RequestId;
}

/** A shell profile the server offers for new sessions. */
export interface IProfileInfo {
  name: string;
  default: boolean;
}

export interface IProfileListReplyMessage {
  type: 'profile.list';
  profiles: IProfileInfo[];
  id?: RequestId;
}

export interface IPongMessage {
  type: 'pong';
  id?: RequestId;
}

/** v1 only: output as a JSON text frame. */
export interface IOutputMessage {
  type: 'terminal.output';
  sessionId: string;
  data: string;
  replay?: boolean;
}

export interface IExitedMessage {
  type: 'session.exited';
  sessionId: string;
  exitCode: number | null;
  /** The signal that ended the program, e.g. "SIGKILL". */
  signal?: string;
}

export type ErrorCode =
  | 'invalid-json'
  | 'invalid-message'
  | 'unknown-type'
  | 'invalid-field'
  | 'binary-frame'
  | 'message-too-large'
  | 'invalid-session-id'
  | 'unknown-session'
  | 'not-attached'
  | 'session-exists'
  | 'too-many-sessions'
  | 'create-failed'
  | 'input-overflow'
  | 'forbidden'
  | 'read-only'
  | 'internal-error';

/** Every error code, in schema.json's order (checked by schema.spec.ts). */
export const ERROR_CODES: readonly ErrorCode[] = [
  'invalid-json',
  'invalid-message',
  'unknown-type',
  'invalid-field',
  'binary-frame',
  'message-too-large',
  'invalid-session-id',
  'unknown-session',
  'not-attached',
  'session-exists',
  'too-many-sessions',
  'create-failed',
  'input-overflow',
  'forbidden',
  'read-only',
  'internal-error'
];

export interface IErrorMessage {
  type: 'error';
  code: string;
  message: string;
  sessionId?: string;
  request?: string;
  id?: RequestId;
}

export type ServerMessage =
  | IHelloMessage
  | IAttachedMessage
  | ITruncatedMessage
  | ISkippedMessage
  | IDetachedMessage
  | IResizedMessage
  | ICreatedMessage
  | IClosedMessage
  | IListReplyMessage
  | IProfileListReplyMessage
  | IPongMessage
  | IOutputMessage
  | IExitedMessage
  | IErrorMessage;

/** Named WebSocket close codes (RFC 6455 §7.4.1; 4000–4999 are private). */
export enum CloseCode {
  /** Normal closure. */
  Normal = 1000,
  /** Server shutting down. */
  GoingAway = 1001,
  /** Closed without a close frame (network drop); set by the browser. */
  Abnormal = 1006,
  /** A frame's data was not consistent with its type. */
  InvalidPayload = 1007,
  /** The client broke a server rule (it sent requests without reading the replies). */
  PolicyViolation = 1008,
  /** Frame larger than the hard limit. */
  TooBig = 1009,
  /** Internal server error. */
  InternalError = 1011,
  /** Ours: the server did not answer in time (no hello, an attach unanswered). */
  Unresponsive = 4000
}

/** Encode a client message as one JSON text frame. */
export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg);
}
