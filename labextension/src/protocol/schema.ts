/**
 * The client-message table of protocol/schema.json (through schemaData.ts,
 * generated from it) and the validator it drives. The validator refuses
 * exactly what the server refuses (same error codes), which the shared
 * examples in protocol/examples.json and declaration.spec.ts check.
 */
import { ClientMessage, ErrorCode, ProtocolVersion } from './protocol';
import { SCHEMA } from './schemaData';

/** A value kind of schema.json's `kinds`. */
export interface IKind {
  type: string | readonly string[];
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  /** Strings must be valid Unicode (no lone surrogates). */
  unicode?: boolean;
  minimum?: number;
  maximum?: number;
  /** The only values a string of this kind may have. */
  enum?: readonly string[];
  /** The only values: the list of that name in the schema (`errors`). */
  enumOf?: string;
  /** Arrays: the kind of each item. */
  items?: string;
  /** Objects: their fields. */
  fields?: { readonly [field: string]: IFieldSpec };
}

export type KindName = keyof typeof SCHEMA.kinds;

/** schema.json `kinds`. */
export const KINDS: { readonly [name in KindName]: IKind } = SCHEMA.kinds;

/** One field of a message. */
export interface IFieldSpec {
  kind: KindName;
  required?: boolean;
  default?: boolean | string;
  /** Protocol version that introduced the field. */
  since?: number;
}

/** One message: its fields and the versions that have it. */
export interface IMessageSpec {
  fields: { readonly [field: string]: IFieldSpec };
  since?: number;
  until?: number;
}

/** A schema.json message entry: object entries are fields, numbers bound its versions. */
function messageSpec(entry: object): IMessageSpec {
  const fields: { [field: string]: IFieldSpec } = {};
  const spec: IMessageSpec = { fields };
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value === 'object' && value !== null) {
      fields[key] = value as IFieldSpec;
    } else if (key === 'since' || key === 'until') {
      spec[key] = value as number;
    }
  }
  return spec;
}

function messageSpecs(section: object): { [type: string]: IMessageSpec } {
  return Object.fromEntries(
    Object.entries(section).map(([type, entry]) => [
      type,
      messageSpec(entry as object)
    ])
  );
}

/** schema.json `client`. */
export const CLIENT_MESSAGES = messageSpecs(SCHEMA.client) as {
  readonly [type in ClientMessage['type']]: IMessageSpec;
};

/** schema.json `server`. */
export const SERVER_MESSAGES: { readonly [type: string]: IMessageSpec } =
  messageSpecs(SCHEMA.server);

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

const LONE_SURROGATE =
  /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Whether `s` is valid Unicode (encodable as UTF-8). */
export function isValidUnicode(s: string): boolean {
  return !LONE_SURROGATE.test(s);
}

/** Length in code points, as Python's `len` counts. */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++;
      }
    }
    n++;
  }
  return n;
}

/** Why `value` is not of `kind`, or null when it is. */
export function kindError(value: unknown, kind: IKind): string | null {
  const types = Array.isArray(kind.type) ? kind.type : [kind.type];
  if (typeof value === 'string' && types.includes('string')) {
    return stringError(value, kind);
  }
  const numeric = types.includes('integer') || types.includes('number');
  if (typeof value === 'number' && numeric) {
    if (!types.includes('number') && !Number.isSafeInteger(value)) {
      return 'must be an integer';
    }
    if (!Number.isFinite(value)) {
      return 'must be a finite number';
    }
    if (kind.minimum !== undefined && value < kind.minimum) {
      return `must be at least ${kind.minimum}`;
    }
    if (kind.maximum !== undefined && value > kind.maximum) {
      return `must be at most ${kind.maximum}`;
    }
    return null;
  }
  if (typeof value === 'boolean' && types.includes('boolean')) {
    return null;
  }
  return `must be of type ${types.join(' or ')}`;
}

function stringError(value: string, kind: IKind): string | null {
  if (kind.unicode && !isValidUnicode(value)) {
    return 'is not valid Unicode (lone surrogate)';
  }
  const n = codePoints(value);
  if (kind.minLength !== undefined && n < kind.minLength) {
    return `must have at least ${kind.minLength} characters`;
  }
  if (kind.maxLength !== undefined && n > kind.maxLength) {
    return `must have at most ${kind.maxLength} characters`;
  }
  if (kind.pattern !== undefined && !new RegExp(kind.pattern).test(value)) {
    return `must match ${kind.pattern}`;
  }
  if (kind.enum !== undefined && !kind.enum.includes(value)) {
    return `must be one of ${kind.enum.join(', ')}`;
  }
  return null;
}

/** Whether `value` can name an existing session (any valid-Unicode string up to 1024). */
export function isSessionId(value: unknown): value is string {
  return kindError(value, KINDS.sessionId) === null;
}

/** Whether `value` may name a new session (`^[A-Za-z0-9_]{1,64}$`). */
export function isNewSessionId(value: unknown): value is string {
  return kindError(value, KINDS.newSessionId) === null;
}

type JSONObject = { [key: string]: unknown };

function isObject(value: unknown): value is JSONObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function fieldError(field: string, what: string): ProtocolError {
  return new ProtocolError('invalid-field', `field '${field}' ${what}`, field);
}

function checkField(obj: JSONObject, name: string, spec: IFieldSpec): void {
  const value = obj[name];
  if (value === undefined) {
    if (spec.required) {
      throw fieldError(name, 'is required');
    }
    return;
  }
  const kind = KINDS[spec.kind];
  const error = kindError(value, kind);
  if (error === null) {
    return;
  }
  // Only a new name has a pattern to break; a lookup id is any bounded string.
  if (spec.kind === 'newSessionId' && typeof value === 'string') {
    throw new ProtocolError(
      'invalid-session-id',
      `invalid name for a new session '${value}': ${error}`,
      name
    );
  }
  throw fieldError(name, error);
}

/**
 * Validate a decoded client frame as a server speaking `version` does,
 * throwing a `ProtocolError` with the server's error code when it would be
 * refused. Messages newer than `version` are unknown; newer fields ignored.
 */
export function validateClientMessage(
  value: unknown,
  version: ProtocolVersion = 2
): ClientMessage {
  if (isObject(value)) {
    for (const [key, field] of Object.entries(value)) {
      // A lone surrogate cannot be sent as UTF-8 nor written to a PTY.
      const bad = typeof field === 'string' && !isValidUnicode(field);
      if (!isValidUnicode(key) || bad) {
        throw fieldError(key, 'is not valid Unicode (lone surrogate)');
      }
    }
  }
  if (!isObject(value) || typeof value.type !== 'string') {
    throw new ProtocolError(
      'invalid-message',
      'frame must be an object with a string type'
    );
  }
  const spec = Object.prototype.hasOwnProperty.call(CLIENT_MESSAGES, value.type)
    ? CLIENT_MESSAGES[value.type as ClientMessage['type']]
    : undefined;
  if (spec === undefined || (spec.since ?? 1) > version) {
    throw new ProtocolError(
      'unknown-type',
      `unknown message type '${value.type}'`
    );
  }
  if (value.id !== undefined) {
    checkField(value, 'id', { kind: 'requestId' });
  }
  for (const [name, field] of Object.entries(spec.fields)) {
    if ((field.since ?? 1) <= version) {
      checkField(value, name, field);
    }
  }
  return value as unknown as ClientMessage;
}
