/**
 * The panel behaves as protocol/schema.json declares, in both directions:
 * every declared server message (generated: every field at both ends of its
 * bounds, or only the required ones) decodes with each field read, every
 * declared binary frame decodes, the client messages the panel encodes are
 * declared ones, and the defaults and terminal queries are the declared ones.
 * protocol.ts derives its message types from the declaration; the type-level
 * checks here give one example of each derivation rule (tsc fails on them).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';

import { attachRequest } from '../connection/attach';
import { decodeBinaryFrame, FrameType } from './binary';
import { DEFAULT_ACK_BYTES } from '../connection/credit';
import {
  examplesOf,
  fieldsOf,
  messageError,
  queryExamples,
  SCHEMA_JSON,
  versionsOf
} from '../declaration.testutil';
import { decodeServerMessage, SERVER_TYPES } from './decode';
import { FakeSocket } from '../fakes.testutil';
import {
  ClientMessage,
  encodeClientMessage,
  IAttachedMessage,
  ErrorCode,
  IErrorMessage,
  IExitedMessage,
  IHelloMessage,
  IListReplyMessage,
  ISessionInfo,
  ITruncatedMessage,
  ProtocolVersion,
  RequestId,
  ServerMessage
} from './protocol';
import { guardReplies, IParserLike } from '../terminal/replies';
import {
  CLIENT_MESSAGES,
  ProtocolError,
  validateClientMessage
} from './schema';
import { SCHEMA } from './schemaData';
import { SessionRecord } from '../connection/sessions';

type JSONObject = { [key: string]: unknown };

/** A copy of `obj` without `name`. */
function omit(obj: JSONObject, name: string): JSONObject {
  return Object.fromEntries(Object.entries(obj).filter(([k]) => k !== name));
}

function cases(
  direction: 'client' | 'server'
): Array<[string, number, JSONObject]> {
  const out: Array<[string, number, JSONObject]> = [];
  for (const [type, entry] of Object.entries(SCHEMA_JSON[direction])) {
    for (const version of versionsOf(entry)) {
      for (const msg of examplesOf(direction, type, version)) {
        out.push([type, version, msg]);
      }
    }
  }
  return out;
}

describe('the declaration itself', () => {
  it('is what the panel imports (schemaData.ts is not stale: run `jlpm schema`)', () => {
    expect(SCHEMA).toEqual(SCHEMA_JSON);
  });

  it('has a decoder for every declared server message type', () => {
    expect([...SERVER_TYPES].sort()).toEqual(
      Object.keys(SCHEMA_JSON.server).sort()
    );
  });

  it('gives the kinds protocol.ts narrows by hand the declared bounds', () => {
    const version = SCHEMA.kinds.protocolVersion;
    expectTypeOf<ProtocolVersion>().toEqualTypeOf<
      typeof version.minimum | typeof version.maximum
    >();
    expect(version.maximum).toBe(SCHEMA_JSON.protocol);
  });

  it('has examples the checker takes, and a checker that refuses what it does not declare', () => {
    for (const [type, version, msg] of cases('server')) {
      expect(messageError(msg, 'server', version), type).toBeNull();
    }
    expect(messageError({ type: 'pong', odd: 1 }, 'server', 1)).toMatch(
      'undeclared field odd'
    );
    expect(messageError({ type: 'session.created' }, 'server', 1)).toMatch(
      'required field sessionId'
    );
    expect(messageError({ type: 'hello', protocol: 2 }, 'server', 1)).toMatch(
      'not a message of protocol v1'
    );
  });
});

describe('the message types protocol.ts derives from it', () => {
  // One example of each derivation rule (tsc checks these; vitest only runs them).
  it('make required fields required, and the others optional', () => {
    expectTypeOf<Pick<ITruncatedMessage, 'offset'>>().toEqualTypeOf<{
      offset: number;
    }>();
    expectTypeOf<Pick<IExitedMessage, 'signal'>>().toEqualTypeOf<{
      signal?: string;
    }>();
  });

  it('make a field optional when the message has versions without it', () => {
    expect(SCHEMA.server['session.attached'].channel).toMatchObject({
      required: true,
      since: 2
    });
    expectTypeOf<Pick<IAttachedMessage, 'channel'>>().toEqualTypeOf<{
      channel?: number;
    }>();
  });

  it('type enums, lists, arrays, objects, unions and the request id', () => {
    type Action = (typeof SCHEMA.kinds.action.enum)[number];
    expectTypeOf<IHelloMessage['access']>().toEqualTypeOf<
      Action[] | undefined
    >();
    expectTypeOf<ErrorCode>().toEqualTypeOf<(typeof SCHEMA.errors)[number]>();
    // Every declared code is an error's code; a newer server's codes are read too.
    expectTypeOf<ErrorCode>().toMatchTypeOf<IErrorMessage['code']>();
    expectTypeOf<'a-newer-code'>().toMatchTypeOf<IErrorMessage['code']>();
    expectTypeOf<
      Extract<ServerMessage, { type: 'error' }>
    >().toEqualTypeOf<IErrorMessage>();
    expectTypeOf<IListReplyMessage['sessions']>().toEqualTypeOf<
      ISessionInfo[]
    >();
    expectTypeOf<Pick<ISessionInfo, 'clients' | 'writers'>>().toEqualTypeOf<{
      clients: number;
      writers?: number;
    }>();
    expectTypeOf<IExitedMessage['exitCode']>().toEqualTypeOf<number | null>();
    expectTypeOf<RequestId>().toEqualTypeOf<string | number>();
    expectTypeOf<IAttachedMessage['id']>().toEqualTypeOf<
      RequestId | undefined
    >();
  });
});

describe('server messages through the decoders', () => {
  it.each(cases('server').map(([t, v, m], i) => [t, v, i, m]))(
    '%s (v%i), example %i, decodes with every field read',
    (type, _version, _i, msg) => {
      const withId = type === 'hello' ? msg : { ...msg, id: 'r1' };
      for (const sent of [msg, withId]) {
        const decoded = decodeServerMessage(JSON.stringify(sent));
        expect(decoded, JSON.stringify(sent)).not.toBeNull();
        const read = decoded as unknown as JSONObject;
        for (const [field, value] of Object.entries(sent)) {
          expect(read[field], `${type}.${field}`).toEqual(value);
        }
      }
    }
  );

  /** Kept on purpose: a hello whose limits are missing still opens v2 on the defaults. */
  const LENIENT = ['hello.limits'];

  it('refuses each declared message without a field required on all its versions', () => {
    // The decoder reads a frame without knowing the socket's version: a v2 field
    // missing makes a v1 message, which the attacher tells apart.
    for (const [type, entry] of Object.entries(SCHEMA_JSON.server)) {
      const version = versionsOf(entry)[0];
      const [full] = examplesOf('server', type, version);
      for (const [name, f] of Object.entries(fieldsOf(entry))) {
        if (
          !f.required ||
          (f.since ?? 1) > version ||
          LENIENT.includes(`${type}.${name}`)
        ) {
          continue;
        }
        const without = omit(full, name);
        expect(
          decodeServerMessage(JSON.stringify(without)),
          `${type} without ${name}`
        ).toBeNull();
      }
    }
  });
});

describe('binary frames through the decoder', () => {
  const binary = SCHEMA_JSON.binary;
  const channel = SCHEMA_JSON.kinds.channel;
  const offset = SCHEMA_JSON.kinds.offset;

  /** A frame laid out from the declared header, field by field. */
  function layOut(fields: { [name: string]: number }, payload: Uint8Array) {
    const bytes = new Uint8Array(binary.headerSize + payload.length);
    const view = new DataView(bytes.buffer);
    let at = 0;
    for (const [name, type] of binary.header) {
      const value = fields[name];
      if (type === 'uint8') {
        view.setUint8(at, value);
        at += 1;
      } else if (type === 'uint32le') {
        view.setUint32(at, value, true);
        at += 4;
      } else if (type === 'uint64le') {
        view.setBigUint64(at, BigInt(value), true);
        at += 8;
      } else {
        throw new Error(`undeclared header type ${type}`);
      }
    }
    expect(at).toBe(binary.headerSize);
    bytes.set(payload, at);
    return bytes;
  }

  it('reads every declared type, channel and offset at their bounds, and the payload', () => {
    const payload = new TextEncoder().encode('é€𝄞');
    for (const type of Object.values(binary.types)) {
      for (const c of [channel.minimum!, channel.maximum!]) {
        for (const o of [offset.minimum!, offset.maximum!]) {
          const frame = decodeBinaryFrame(
            layOut({ type, channel: c, offset: o }, payload)
          );
          expect(frame).toEqual({ type, channel: c, offset: o, payload });
        }
      }
    }
    expect(binary.types).toEqual({
      output: FrameType.Output,
      replay: FrameType.Replay
    });
  });
});

describe('client messages the panel encodes', () => {
  it.each(cases('client').map(([t, v, m], i) => [t, v, i, m]))(
    '%s (v%i), example %i, validates as the server would and encodes as declared',
    (type, version, _i, msg) => {
      const valid = validateClientMessage(msg, version as 1 | 2);
      const sent = JSON.parse(encodeClientMessage(valid));
      expect(messageError(sent, 'client', version)).toBeNull();
      expect(sent).toEqual(msg);
      for (const [name, f] of Object.entries(
        CLIENT_MESSAGES[type as ClientMessage['type']].fields
      )) {
        if (f.required && (f.since ?? 1) <= version) {
          const without = omit(msg, name);
          expect(() =>
            validateClientMessage(without, version as 1 | 2)
          ).toThrow(ProtocolError);
        }
      }
    }
  );

  it('are checked on every send of the unit tests (the fake socket refuses others)', () => {
    const socket = new FakeSocket('ws://x');
    socket.open();
    socket.send(JSON.stringify({ type: 'ping', id: 1 }));
    expect(() => socket.send(JSON.stringify({ type: 'ping', odd: 1 }))).toThrow(
      'undeclared field odd'
    );
  });

  it('builds attach requests the declaration allows on each version', () => {
    const record = new SessionRecord('1');
    record.mode = 'view';
    expect(messageError(attachRequest(record, 1), 'client', 1)).toBeNull();
    record.hasScreen = true;
    record.offset = 10;
    record.resume = 'tok';
    record.incarnation = 'life';
    const v2 = attachRequest(record, 2);
    expect(v2.since).toBe(10);
    expect(messageError(v2, 'client', 2)).toBeNull();
  });
});

describe('one source of defaults and terminal queries', () => {
  it('acknowledges in the declared batch when hello announces none', () => {
    expect(DEFAULT_ACK_BYTES).toBe(SCHEMA_JSON.defaults.ackBytes);
  });

  it('swallows, while replaying, every terminal query the declaration lists', () => {
    const hooks: Array<{ key: string; fn: (...args: never[]) => boolean }> = [];
    const hook = { dispose: () => undefined };
    const parser: IParserLike = {
      registerCsiHandler(id, fn) {
        hooks.push({
          key: `CSI ${id.prefix ?? ''}${id.intermediates ?? ''}${id.final}`,
          fn
        });
        return hook;
      },
      registerDcsHandler(id, fn) {
        hooks.push({ key: `DCS ${id.intermediates ?? ''}${id.final}`, fn });
        return hook;
      },
      registerOscHandler(ident, fn) {
        hooks.push({ key: `OSC ${ident}`, fn });
        return hook;
      }
    };
    guardReplies(parser, () => true);
    const swallowed = (key: string, ...args: unknown[]): boolean =>
      hooks
        .filter(h => h.key === key)
        .some(h => (h.fn as (...a: unknown[]) => boolean)(...args));
    // Read back from the sequences a program sends, as xterm's parser splits them.
    for (const seq of queryExamples()) {
      const [intro, body] = [seq.slice(0, 2), seq.slice(2)];
      if (intro === '\x1b[') {
        const [, prefix, params, inter, final] =
          /^([?>=]?)([0-9;]*)([$]?)(.)$/.exec(body)!;
        const key = `CSI ${prefix}${inter}${final}`;
        expect(swallowed(key, params.split(';').map(Number)), seq).toBe(true);
      } else if (intro === '\x1b]') {
        const [ident, ...data] = body.slice(0, -1).split(';');
        expect(swallowed(`OSC ${ident}`, data.join(';')), seq).toBe(true);
      } else if (intro === '\x1bP') {
        const [, inter, final] = /^([$+]?)(.)/.exec(body)!;
        expect(swallowed(`DCS ${inter}${final}`, 'm', []), seq).toBe(true);
      } else {
        throw new Error(`no parser form for ${JSON.stringify(seq)}`);
      }
    }
  });
});
