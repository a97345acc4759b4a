/**
 * Message types of `{base_url}api/termmux/socket`, protocol v1 (README) and
 * v2 (protocol/PROTOCOL.md), derived from protocol/schema.json (through
 * schemaData.ts, its `as const` copy) at the type level: the field lists are
 * the schema's, only the names are given here. The field table and
 * validation live in schema.ts, server-frame decoding in decode.ts, the v2
 * binary output frame in binary.ts. Pure types and encoding, no I/O.
 */
import { SCHEMA } from './schemaData';

type Schema = typeof SCHEMA;
type Kinds = Schema['kinds'];
type Client = Schema['client'];
type Server = Schema['server'];

/** Protocol versions the panel speaks (the bounds of kind `protocolVersion`). */
export type ProtocolVersion = 1 | 2;

/** The WebSocket subprotocol that selects v2 (PROTOCOL.md "Negotiation"). */
export const SUBPROTOCOL_V2 = 'termmux.v2';

// ---------------------------------------------------------------- derivation

/** A JSON type of schema.json as TypeScript (kind `type`, or each of a list). */
interface IJSONTypes {
  string: string;
  integer: number;
  number: number;
  boolean: boolean;
  null: null;
}

/** Kinds whose TypeScript type is narrower than their JSON declaration. */
interface IKindOverrides {
  protocolVersion: ProtocolVersion;
  /** Each limit is kept only when valid: a missing or bad one keeps the default. */
  limits: IServerLimits;
}

/** The TypeScript type of a value of kind `K`. */
type KindType<K extends keyof Kinds> = K extends keyof IKindOverrides
  ? IKindOverrides[K]
  : Declared<Kinds[K]>;

/** A kind's type from its declaration: enum, list, array, object or JSON type. */
type Declared<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { enumOf: infer L extends keyof Schema }
    ? Schema[L] extends readonly (infer E)[]
      ? E
      : never
    : S extends { items: infer I extends keyof Kinds }
      ? KindType<I>[]
      : S extends { fields: infer F }
        ? Fields<F, 1>
        : S extends { type: infer T }
          ? IJSONTypes[(T extends readonly (infer U)[] ? U : T) &
              keyof IJSONTypes]
          : never;

/** A field declaration (message entries also hold numbers: `since`, `until`). */
type FieldSpec = { kind: keyof Kinds; required?: boolean; since?: number };

/**
 * Required in TypeScript when required on every version that has the
 * message: declared required, and added with the message (no `since`, or
 * the message's own first version); otherwise optional.
 */
type IsRequired<F, First> = F extends { required: true }
  ? F extends { since: infer S }
    ? S extends 1 | First
      ? true
      : false
    : true
  : false;

type Fields<E, First> = {
  -readonly [
    K in keyof E as E[K] extends FieldSpec
      ? IsRequired<E[K], First> extends true
        ? K
        : never
      : never
  ]: E[K] extends FieldSpec ? KindType<E[K]['kind']> : never;
} & {
  -readonly [
    K in keyof E as E[K] extends FieldSpec
      ? IsRequired<E[K], First> extends true
        ? never
        : K
      : never
  ]?: E[K] extends FieldSpec ? KindType<E[K]['kind']> : never;
};

/** The first protocol version that has a message (its entry's `since`, else 1). */
type FirstVersion<E> = E extends { since: infer S extends number } ? S : 1;

type Direction = 'client' | 'server';

/** The parts of message `T`: its `type`, its fields, and the optional `id`. */
type Parts<D extends Direction, T extends keyof Schema[D]> = {
  type: T;
} & Fields<Schema[D][T], FirstVersion<Schema[D][T]>> & { id?: RequestId };

/**
 * Message `T` of direction `D` as one object type (named so in tsc's errors,
 * e.g. `Message<"client", "session.attach">`).
 */
type Message<D extends Direction, T extends keyof Schema[D]> = {
  [K in keyof Parts<D, T>]: Parts<D, T>[K];
};

// ---------------------------------------------------------------- values

/** A request id, echoed by the server in the direct answer. */
export type RequestId = KindType<'requestId'>;

/** How a tab attaches: `write` types and sets the size, `view` only watches. */
export type AttachMode = KindType<'attachMode'>;

/** An error code the server answers with (schema.json `errors`). */
export type ErrorCode = KindType<'errorCode'>;

/** Every error code, in schema.json's order. */
export const ERROR_CODES: readonly ErrorCode[] = SCHEMA.errors;

/** v2: limits announced in `hello`, each one only when valid. */
export interface IServerLimits extends Partial<Declared<Kinds['limits']>> {}

/** A `session.list` item; `writers` and `viewers` count the clients by mode. */
export interface ISessionInfo extends KindType<'sessionInfo'> {}

/** A shell profile the server offers for new sessions. */
export interface IProfileInfo extends KindType<'profileInfo'> {}

// ---------------------------------------------------------------- client → server

/**
 * Attach a session: `mode` `write` (the default) or `view`; on v2 `since`
 * (the offset this client has), `incarnation` (the shell it saw) and
 * `resume` (the token of its last `session.attached`) resume it.
 */
export interface IAttachMessage extends Message<'client', 'session.attach'> {}
export interface IDetachMessage extends Message<'client', 'session.detach'> {}
export interface IInputMessage extends Message<'client', 'terminal.input'> {}
export interface IResizeMessage extends Message<'client', 'terminal.resize'> {}
/** Start a session, at `rows`×`cols` (both or neither), with a `profile`. */
export interface ICreateMessage extends Message<'client', 'session.create'> {}
export interface ICloseMessage extends Message<'client', 'session.close'> {}
export interface IListMessage extends Message<'client', 'session.list'> {}
export interface IProfileListMessage extends Message<
  'client',
  'profile.list'
> {}
export interface IPingMessage extends Message<'client', 'ping'> {}
/** v2: credit returned for payload bytes xterm.js has parsed on a channel. */
export interface IAckMessage extends Message<'client', 'ack'> {}

/** Any message schema.json declares from client to server. */
export type ClientMessage = {
  [T in keyof Client]: Message<'client', T>;
}[keyof Client];

export type ClientMessageType = ClientMessage['type'];

// ---------------------------------------------------------------- server → client

/**
 * v2: the server's first frame after selecting `termmux.v2`: its `limits`,
 * what this user may do (`access`), whether viewers are let in (`viewers`),
 * and the server process (`boot`: another one means a restart).
 */
export interface IHelloMessage extends Message<'server', 'hello'> {}
/**
 * The answer to an attach: the PTY's size when it has one; on v2 the
 * channel, incarnation, offset, whether output was lost (`truncated`), the
 * `preamble` to write first and the `resume` token naming the subscription.
 */
export interface IAttachedMessage extends Message<
  'server',
  'session.attached'
> {}
/** v2: this subscriber fell behind history; reset, write the preamble, go on. */
export interface ITruncatedMessage extends Message<
  'server',
  'session.truncated'
> {}
/**
 * v2: this view was far behind its session's output and skips ahead to
 * `offset` (a line start near the end); write the preamble (the modes in
 * force there) and go on, without a reset.
 */
export interface ISkippedMessage extends Message<'server', 'session.skipped'> {}
export interface IDetachedMessage extends Message<
  'server',
  'session.detached'
> {}
/** The PTY took another size (that of its most recently active writer). */
export interface IResizedMessage extends Message<'server', 'session.resized'> {}
export interface ICreatedMessage extends Message<'server', 'session.created'> {}
export interface IClosedMessage extends Message<'server', 'session.closed'> {}
export interface IListReplyMessage extends Message<'server', 'session.list'> {}
export interface IProfileListReplyMessage extends Message<
  'server',
  'profile.list'
> {}
export interface IPongMessage extends Message<'server', 'pong'> {}
/** v1 only: output as a JSON text frame. */
export interface IOutputMessage extends Message<'server', 'terminal.output'> {}
/** The program ended: `exitCode` null when unknown, `signal` e.g. "SIGKILL". */
export interface IExitedMessage extends Message<'server', 'session.exited'> {}
/**
 * A refusal: `code` is one of ERROR_CODES as this panel knows them, or one a
 * newer server added (read as it is: its message still reaches the user).
 */
export interface IErrorMessage extends Omit<
  Message<'server', 'error'>,
  'code'
> {
  code: ErrorCode | (string & Record<never, never>);
}

/** Any message schema.json declares from server to client. */
export type ServerMessage = {
  [T in keyof Server]: T extends 'error' ? IErrorMessage : Message<'server', T>;
}[keyof Server];

// ---------------------------------------------------------------- socket

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
