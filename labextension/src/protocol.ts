/**
 * Wire protocol v1 of `{base_url}api/termmux/socket` (see the README).
 *
 * Declared once for TypeScript: message types, the session-id rule, encoding,
 * validation of client frames (mirroring the server's refusals, so the shared
 * examples in `protocol/examples.json` test both sides) and decoding of server
 * frames. Pure functions, no I/O.
 */

/** A request id, echoed by the server in the direct answer. */
export type RequestId = string | number;

/** Session ids are terminal names: `\w+`, at most 255 characters. */
export const SESSION_ID_PATTERN = /^\w{1,255}$/;

/** Whether `value` is a valid session id. */
export function isSessionId(value: unknown): value is string {
  return typeof value === 'string' && SESSION_ID_PATTERN.test(value);
}

// ---------------------------------------------------------------- client → server

export interface IAttachMessage {
  type: 'session.attach';
  sessionId: string;
  replay?: boolean;
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

export interface IPingMessage {
  type: 'ping';
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
  | IPingMessage;

export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------- server → client

export interface IAttachedMessage {
  type: 'session.attached';
  sessionId: string;
  id?: RequestId;
}

export interface IDetachedMessage {
  type: 'session.detached';
  sessionId: string;
  reason?: string;
  id?: RequestId;
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
}

export interface IListReplyMessage {
  type: 'session.list';
  sessions: ISessionInfo[];
  id?: RequestId;
}

export interface IPongMessage {
  type: 'pong';
  id?: RequestId;
}

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
  | 'internal-error';

export interface IErrorMessage {
  type: 'error';
  code: string;
  message: string;
  sessionId?: string;
  request?: string;
  id?: RequestId;
}

export type ServerMessage =
  | IAttachedMessage
  | IDetachedMessage
  | ICreatedMessage
  | IClosedMessage
  | IListReplyMessage
  | IPongMessage
  | IOutputMessage
  | IExitedMessage
  | IErrorMessage;

/** Named WebSocket close codes used by the server (RFC 6455 §7.4.1). */
export enum CloseCode {
  /** Normal closure. */
  Normal = 1000,
  /** Server shutting down. */
  GoingAway = 1001,
  /** Closed without a close frame (network drop); set by the browser. */
  Abnormal = 1006,
  /** Frame larger than the hard limit. */
  TooBig = 1009,
  /** Internal server error. */
  InternalError = 1011
}

// ---------------------------------------------------------------- encoding

/** Encode a client message as one JSON text frame. */
export function encodeClientMessage(msg: ClientMessage): string {
  return JSON.stringify(msg);
}

/** A refused frame: the error code the server would answer with. */
export class ProtocolError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string
  ) {
    super(message);
    this.name = 'ProtocolError';
  }
}

type JSONObject = { [key: string]: unknown };

function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveInt(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}

function isRequestId(value: unknown): value is RequestId {
  return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value));
}

function fieldError(field: string, what: string): ProtocolError {
  return new ProtocolError('invalid-field', `field '${field}' ${what}`, field);
}

function requireSessionId(obj: JSONObject): void {
  const value = obj.sessionId;
  if (value === undefined || typeof value !== 'string') {
    throw fieldError('sessionId', 'must be a string');
  }
  if (!isSessionId(value)) {
    throw new ProtocolError('invalid-session-id', `invalid session id '${value}'`, 'sessionId');
  }
}

const CLIENT_TYPES: ReadonlySet<string> = new Set<ClientMessageType>([
  'session.attach',
  'session.detach',
  'terminal.input',
  'terminal.resize',
  'session.create',
  'session.close',
  'session.list',
  'ping'
]);

/**
 * Validate a decoded client frame exactly as the server does, throwing a
 * `ProtocolError` with the server's error code when it would be refused.
 */
export function validateClientMessage(value: unknown): ClientMessage {
  if (isObject(value)) {
    for (const [key, field] of Object.entries(value)) {
      // A lone surrogate cannot be sent as UTF-8 nor written to a PTY (the server refuses it).
      if (LONE_SURROGATE.test(key) || (typeof field === 'string' && LONE_SURROGATE.test(field))) {
        throw fieldError(key, 'is not valid Unicode (lone surrogate)');
      }
    }
  }
  if (!isObject(value) || typeof value.type !== 'string') {
    throw new ProtocolError('invalid-message', 'frame must be an object with a string type');
  }
  if (!CLIENT_TYPES.has(value.type)) {
    throw new ProtocolError('unknown-type', `unknown message type '${value.type}'`);
  }
  if (value.id !== undefined && !isRequestId(value.id)) {
    throw fieldError('id', 'must be a string or an integer');
  }
  switch (value.type as ClientMessageType) {
    case 'session.attach':
      requireSessionId(value);
      if (value.replay !== undefined && typeof value.replay !== 'boolean') {
        throw fieldError('replay', 'must be a boolean');
      }
      break;
    case 'session.detach':
    case 'session.close':
      requireSessionId(value);
      break;
    case 'terminal.input':
      requireSessionId(value);
      if (typeof value.data !== 'string') {
        throw fieldError('data', 'must be a string');
      }
      break;
    case 'terminal.resize':
      requireSessionId(value);
      for (const field of ['rows', 'cols']) {
        if (!isPositiveInt(value[field])) {
          throw fieldError(field, 'must be a positive integer');
        }
      }
      break;
    case 'session.create':
      if (value.sessionId !== undefined) {
        requireSessionId(value);
      }
      if (value.cwd !== undefined && typeof value.cwd !== 'string') {
        throw fieldError('cwd', 'must be a string');
      }
      for (const field of ['rows', 'cols']) {
        if (value[field] !== undefined && !isPositiveInt(value[field])) {
          throw fieldError(field, 'must be a positive integer');
        }
      }
      break;
    case 'session.list':
    case 'ping':
      break;
  }
  return value as unknown as ClientMessage;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Parse and validate a client text frame (used by tests and debugging tools). */
export function parseClientFrame(frame: string): ClientMessage {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (e) {
    throw new ProtocolError('invalid-json', `frame is not valid JSON: ${String(e)}`);
  }
  return validateClientMessage(value);
}

// ---------------------------------------------------------------- decoding

function optionalId(obj: JSONObject): boolean {
  return obj.id === undefined || isRequestId(obj.id);
}

function isSessionInfo(value: unknown): value is ISessionInfo {
  return (
    isObject(value) &&
    isSessionId(value.sessionId) &&
    typeof value.clients === 'number' &&
    typeof value.attached === 'boolean'
  );
}

/**
 * Decode one server text frame. Returns `null` for a frame that is not a valid
 * v1 server message (the caller logs it; one bad frame must not kill a socket).
 */
export function decodeServerMessage(frame: string): ServerMessage | null {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.type !== 'string' || !optionalId(value)) {
    return null;
  }
  const v = value;
  switch (v.type) {
    case 'session.attached':
    case 'session.created':
    case 'session.closed':
      return isSessionId(v.sessionId) ? (v as unknown as ServerMessage) : null;
    case 'session.detached':
      return isSessionId(v.sessionId) && (v.reason === undefined || typeof v.reason === 'string')
        ? (v as unknown as IDetachedMessage)
        : null;
    case 'session.list':
      return Array.isArray(v.sessions) && v.sessions.every(isSessionInfo)
        ? (v as unknown as IListReplyMessage)
        : null;
    case 'pong':
      return v as unknown as IPongMessage;
    case 'terminal.output':
      return isSessionId(v.sessionId) &&
        typeof v.data === 'string' &&
        (v.replay === undefined || typeof v.replay === 'boolean')
        ? (v as unknown as IOutputMessage)
        : null;
    case 'session.exited':
      return isSessionId(v.sessionId) &&
        (v.exitCode === null || (typeof v.exitCode === 'number' && Number.isInteger(v.exitCode)))
        ? (v as unknown as IExitedMessage)
        : null;
    case 'error':
      return typeof v.code === 'string' &&
        typeof v.message === 'string' &&
        (v.sessionId === undefined || typeof v.sessionId === 'string') &&
        (v.request === undefined || typeof v.request === 'string')
        ? (v as unknown as IErrorMessage)
        : null;
    default:
      return null;
  }
}
