/**
 * Decoding of server text frames (v1 and v2). One bad frame must never kill
 * the socket: a malformed frame decodes to null (the caller logs it), and a
 * `session.list` answer is decoded item by item, so one odd entry is skipped
 * and never hides the others.
 */
import {
  IHelloMessage,
  IProfileInfo,
  IProfileListReplyMessage,
  IListReplyMessage,
  IServerLimits,
  ISessionInfo,
  ProtocolVersion,
  RequestId,
  ServerMessage
} from './protocol';
import { isSessionId, kindError, KINDS } from './schema';

type JSONObject = { [key: string]: unknown };

function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return kindError(value, KINDS.requestId) === null;
}

function isOptional(value: unknown, check: (v: unknown) => boolean): boolean {
  return value === undefined || check(value);
}

const isString = (v: unknown): boolean => typeof v === 'string';
const isBoolean = (v: unknown): boolean => typeof v === 'boolean';
const isChannel = (v: unknown): boolean => kindError(v, KINDS.channel) === null;
const isOffset = (v: unknown): boolean => kindError(v, KINDS.offset) === null;
const isSize = (v: unknown): boolean => kindError(v, KINDS.size) === null;
const isAction = (v: unknown): boolean => kindError(v, KINDS.action) === null;

/** A `session.list` item, or null when this one item is malformed. */
export function decodeSessionInfo(value: unknown): ISessionInfo | null {
  if (
    !isObject(value) ||
    !isSessionId(value.sessionId) ||
    typeof value.clients !== 'number' ||
    !Number.isInteger(value.clients) ||
    value.clients < 0 ||
    typeof value.attached !== 'boolean'
  ) {
    return null;
  }
  const info: ISessionInfo = {
    sessionId: value.sessionId,
    clients: value.clients,
    attached: value.attached
  };
  // Presence (newer servers): kept only when it is a count.
  if (isCount(value.writers)) {
    info.writers = value.writers;
  }
  if (isCount(value.viewers)) {
    info.viewers = value.viewers;
  }
  return info;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0;
}

function decodeList(v: JSONObject): IListReplyMessage | null {
  if (!Array.isArray(v.sessions)) {
    return null;
  }
  const sessions: ISessionInfo[] = [];
  for (const item of v.sessions) {
    const info = decodeSessionInfo(item);
    if (info === null) {
      console.warn('termmux: skipping a malformed session.list item', item);
    } else {
      sessions.push(info);
    }
  }
  const msg: IListReplyMessage = { type: 'session.list', sessions };
  if (v.id !== undefined) {
    msg.id = v.id as RequestId;
  }
  return msg;
}

/** A `profile.list` item, or null when this one item is malformed. */
export function decodeProfileInfo(value: unknown): IProfileInfo | null {
  if (
    !isObject(value) ||
    kindError(value.name, KINDS.profile) !== null ||
    typeof value.default !== 'boolean'
  ) {
    return null;
  }
  return { name: value.name as string, default: value.default };
}

function decodeProfiles(v: JSONObject): IProfileListReplyMessage | null {
  if (!Array.isArray(v.profiles)) {
    return null;
  }
  const profiles = v.profiles
    .map(decodeProfileInfo)
    .filter((p): p is IProfileInfo => p !== null);
  const msg: IProfileListReplyMessage = { type: 'profile.list', profiles };
  if (v.id !== undefined) {
    msg.id = v.id as RequestId;
  }
  return msg;
}

const LIMIT_FIELDS = KINDS.limits.fields ?? {};

function decodeLimits(value: unknown): IServerLimits {
  const limits: { [key: string]: number } = {};
  if (isObject(value)) {
    for (const [key, n] of Object.entries(value)) {
      // Only a limit of its declared kind: a bad one is ignored (the client keeps its
      // default), never obeyed; a missing one too.
      const spec = Object.prototype.hasOwnProperty.call(LIMIT_FIELDS, key)
        ? LIMIT_FIELDS[key]
        : undefined;
      if (spec !== undefined && kindError(n, KINDS[spec.kind]) === null) {
        limits[key] = n as number;
      }
    }
  }
  return limits as IServerLimits;
}

function decodeHello(v: JSONObject): IHelloMessage | null {
  if (
    kindError(v.protocol, KINDS.protocolVersion) !== null ||
    !isString(v.server) ||
    !isString(v.version)
  ) {
    return null;
  }
  const hello: IHelloMessage = {
    type: 'hello',
    protocol: v.protocol as ProtocolVersion,
    server: v.server as string,
    version: v.version as string,
    limits: decodeLimits(v.limits)
  };
  if (Array.isArray(v.access) && v.access.every(a => typeof a === 'string')) {
    // Only the declared actions: one this panel does not know grants nothing here.
    hello.access = v.access.filter(isAction) as IHelloMessage['access'];
  }
  if (typeof v.viewers === 'boolean') {
    hello.viewers = v.viewers;
  }
  if (isString(v.boot)) {
    hello.boot = v.boot as string;
  }
  return hello;
}

function validAttached(v: JSONObject): boolean {
  return (
    isSessionId(v.sessionId) &&
    isOptional(v.rows, isSize) &&
    isOptional(v.cols, isSize) &&
    isOptional(v.channel, isChannel) &&
    isOptional(v.incarnation, isString) &&
    isOptional(v.offset, isOffset) &&
    isOptional(v.truncated, isBoolean) &&
    isOptional(v.preamble, isString) &&
    isOptional(v.resume, isString)
  );
}

function validTruncated(v: JSONObject): boolean {
  return (
    isSessionId(v.sessionId) &&
    isChannel(v.channel) &&
    isOffset(v.offset) &&
    isString(v.preamble)
  );
}

function validExited(v: JSONObject): boolean {
  const code = v.exitCode;
  return (
    isSessionId(v.sessionId) &&
    (code === null || (typeof code === 'number' && Number.isInteger(code))) &&
    isOptional(v.signal, isString)
  );
}

function validError(v: JSONObject): boolean {
  return (
    // A code this panel does not know still decodes: a newer server may add codes.
    isString(v.code) &&
    isString(v.message) &&
    isOptional(v.sessionId, isString) &&
    isOptional(v.request, isString)
  );
}

/** Structural checks of the message types whose shape needs no rewriting. */
const CHECKS: { [type: string]: (v: JSONObject) => boolean } = {
  'session.attached': validAttached,
  'session.truncated': validTruncated,
  'session.skipped': validTruncated,
  'session.created': v => isSessionId(v.sessionId),
  'session.closed': v => isSessionId(v.sessionId),
  'session.resized': v =>
    isSessionId(v.sessionId) && isSize(v.rows) && isSize(v.cols),
  'session.detached': v =>
    isSessionId(v.sessionId) && isOptional(v.reason, isString),
  pong: () => true,
  'terminal.output': v =>
    isSessionId(v.sessionId) &&
    isString(v.data) &&
    isOptional(v.replay, isBoolean),
  'session.exited': validExited,
  error: validError
};

/** Every server message type this decoder knows. */
export const SERVER_TYPES: readonly string[] = [
  'hello',
  'session.list',
  'profile.list',
  ...Object.keys(CHECKS)
];

/** Parse a frame to an object with a string type and a valid optional id. */
function parseObject(frame: string): JSONObject | null {
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch {
    return null;
  }
  if (!isObject(value) || typeof value.type !== 'string') {
    return null;
  }
  return isOptional(value.id, isRequestId) ? value : null;
}

/**
 * Decode one server text frame. Returns `null` for a frame that is not a
 * valid server message.
 */
export function decodeServerMessage(frame: string): ServerMessage | null {
  const v = parseObject(frame);
  if (v === null) {
    return null;
  }
  if (v.type === 'session.list') {
    return decodeList(v);
  }
  if (v.type === 'hello') {
    return decodeHello(v);
  }
  if (v.type === 'profile.list') {
    return decodeProfiles(v);
  }
  const type = v.type as string;
  const check = Object.prototype.hasOwnProperty.call(CHECKS, type)
    ? CHECKS[type]
    : undefined;
  return check !== undefined && check(v)
    ? (v as unknown as ServerMessage)
    : null;
}

/** The request id of a frame that did not decode, so its request can fail at once. */
export function undecodedRequestId(frame: string): RequestId | undefined {
  const v = parseObject(frame);
  return v === null ? undefined : (v.id as RequestId | undefined);
}
