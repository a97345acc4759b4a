/**
 * Both sides of the protocol against the shared examples in
 * protocol/examples.json: client frames validate (or are refused with the
 * server's error code), server frames decode, binary frames decode byte for
 * byte; plus the session-id rules and malformed server frames.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { decodeBinaryFrame } from './binary';
import { decodeServerMessage } from './decode';
import { encodeClientMessage } from './protocol';
import { parseClientFrame } from './parse';
import {
  isNewSessionId,
  isSessionId,
  ProtocolError,
  validateClientMessage
} from './schema';

interface IInvalid {
  frame: string;
  code: string;
  field?: string;
}

interface IBinaryExample {
  hex: string;
  type: number;
  channel: number;
  offset: number;
  text: string;
}

interface IClientExamples {
  valid: Array<{ [key: string]: unknown }>;
  invalid: IInvalid[];
}

interface IExamples {
  /** v1 frames, and under `v2` the frames valid or refused on v2. */
  client: IClientExamples & { v2: IClientExamples };
  server: Array<{ [key: string]: unknown }>;
  serverV2?: Array<{ [key: string]: unknown }>;
  binary?: IBinaryExample[];
}

const EXAMPLES: IExamples = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../protocol/examples.json', import.meta.url)),
    'utf8'
  )
);

function refusal(frame: string, version: 1 | 2): ProtocolError {
  try {
    parseClientFrame(frame, version);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error(`accepted: ${frame}`);
}

const CLIENT_SETS: Array<[1 | 2, IClientExamples]> = [
  [1, EXAMPLES.client],
  [2, EXAMPLES.client.v2]
];

for (const [version, examples] of CLIENT_SETS) {
  describe(`client frames, v${version} (protocol/examples.json)`, () => {
    it.each(examples.valid.map(m => [JSON.stringify(m), m]))(
      'valid %s validates and round-trips through encode',
      (_, message) => {
        const msg = validateClientMessage(message, version);
        const frame = encodeClientMessage(msg);
        expect(JSON.parse(frame)).toEqual(message);
        expect(parseClientFrame(frame, version)).toEqual(message);
      }
    );

    it.each(examples.invalid.map(x => [x.frame.slice(0, 120), x]))(
      'invalid %s is refused with the server error code',
      (_, example) => {
        const error = refusal(example.frame, version);
        expect(error.code).toBe(example.code);
        if (example.field !== undefined) {
          expect(error.field).toBe(example.field);
        }
      }
    );
  });
}

describe('server frames (protocol/examples.json)', () => {
  const all = [...EXAMPLES.server, ...(EXAMPLES.serverV2 ?? [])];
  it.each(all.map(m => [JSON.stringify(m), m]))('%s decodes', (_, message) => {
    expect(decodeServerMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each([
    ['not json'],
    ['[]'],
    ['{"type": 1}'],
    ['{"type": "terminal.output", "sessionId": "1"}'],
    ['{"type": "terminal.output", "sessionId": 5, "data": "a"}'],
    ['{"type": "session.exited", "sessionId": "1", "exitCode": 1.5}'],
    [
      '{"type": "session.exited", "sessionId": "1", "exitCode": 0, "signal": 9}'
    ],
    ['{"type": "session.list", "sessions": {}}'],
    ['{"type": "session.attached", "sessionId": "1", "channel": 0}'],
    ['{"type": "session.truncated", "sessionId": "1", "channel": 2}'],
    ['{"type": "hello", "protocol": "2"}'],
    [
      '{"type": "hello", "protocol": 3, "server": "s", "version": "1", "limits": {}}'
    ],
    ['{"type": "error", "message": "no code"}'],
    ['{"type": "pong", "id": [1]}'],
    ['{"type": "session.unknown", "sessionId": "1"}']
  ])('malformed %s decodes to null', frame => {
    expect(decodeServerMessage(frame)).toBeNull();
  });

  it('reads an error whose code a newer server added, with its message', () => {
    const msg = decodeServerMessage(
      '{"type": "error", "code": "no-such-code", "message": "m", "id": 3}'
    );
    expect(msg).toMatchObject({
      type: 'error',
      code: 'no-such-code',
      message: 'm',
      id: 3
    });
  });

  it('keeps only the declared actions of a hello access list', () => {
    const msg = decodeServerMessage(
      '{"type": "hello", "protocol": 2, "server": "s", "version": "1", "limits": {}, "access": ["read", "admin"]}'
    );
    expect(msg).toMatchObject({ type: 'hello', access: ['read'] });
  });

  it('keeps the good items of a session.list with a bad one', () => {
    const msg = decodeServerMessage(
      '{"type": "session.list", "sessions": [{"sessionId": "1"}, {"sessionId": "2", "clients": 0, "attached": false}]}'
    );
    expect(msg).toEqual({
      type: 'session.list',
      sessions: [{ sessionId: '2', clients: 0, attached: false }]
    });
  });
});

describe('binary frames (protocol/examples.json "binary")', () => {
  const examples = EXAMPLES.binary ?? [];
  it.each(examples.map(x => [x.hex, x]))(
    '%s decodes to its type, channel, offset and text',
    (_, example) => {
      const bytes = Uint8Array.from(
        example.hex.match(/../g)!.map(h => parseInt(h, 16))
      );
      const frame = decodeBinaryFrame(bytes.buffer);
      expect(frame).not.toBeNull();
      expect(frame!.type).toBe(example.type);
      expect(frame!.channel).toBe(example.channel);
      expect(frame!.offset).toBe(example.offset);
      expect(new TextDecoder().decode(frame!.payload)).toBe(example.text);
    }
  );
});

describe('session ids', () => {
  it('to look a session up: any valid-Unicode string of 0..1024 characters', () => {
    for (const id of [
      '1',
      'build_log',
      'été',
      'my-term',
      'with space',
      '../x',
      ''
    ]) {
      expect(isSessionId(id)).toBe(true);
    }
    expect(isSessionId('é'.repeat(1024))).toBe(true);
    expect(isSessionId('😀'.repeat(1024))).toBe(true); // code points, not UTF-16 units
    expect(isSessionId('a'.repeat(1025))).toBe(false);
    expect(isSessionId('a\ud800')).toBe(false);
    expect(isSessionId(3)).toBe(false);
  });

  it('to name a new session: ^[A-Za-z0-9_]{1,64}$', () => {
    expect(isNewSessionId('train_01')).toBe(true);
    expect(isNewSessionId('a'.repeat(64))).toBe(true);
    for (const id of [
      '',
      'a'.repeat(65),
      'été',
      'my-term',
      'with space',
      '../x'
    ]) {
      expect(isNewSessionId(id)).toBe(false);
    }
  });
});
