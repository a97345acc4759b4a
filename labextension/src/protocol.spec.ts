import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import {
  decodeServerMessage,
  encodeClientMessage,
  isSessionId,
  parseClientFrame,
  ProtocolError,
  validateClientMessage
} from './protocol';

interface IExamples {
  client: {
    valid: Array<{ [key: string]: unknown }>;
    invalid: Array<{ frame: string; code: string; field?: string }>;
  };
  server: Array<{ [key: string]: unknown }>;
}

const EXAMPLES: IExamples = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../protocol/examples.json', import.meta.url)), 'utf8')
);

describe('client frames (protocol/examples.json)', () => {
  it.each(EXAMPLES.client.valid.map(m => [JSON.stringify(m), m]))(
    'valid %s validates and round-trips through encode',
    (_, message) => {
      const msg = validateClientMessage(message);
      const frame = encodeClientMessage(msg);
      expect(JSON.parse(frame)).toEqual(message);
      expect(parseClientFrame(frame)).toEqual(message);
    }
  );

  it.each(EXAMPLES.client.invalid.map(x => [x.frame, x]))(
    'invalid %s is refused with the server error code',
    (_, example) => {
      let error: unknown;
      try {
        parseClientFrame(example.frame);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ProtocolError);
      expect((error as ProtocolError).code).toBe(example.code);
      if (example.field !== undefined) {
        expect((error as ProtocolError).field).toBe(example.field);
      }
    }
  );
});

describe('server frames (protocol/examples.json)', () => {
  it.each(EXAMPLES.server.map(m => [JSON.stringify(m), m]))('%s decodes', (_, message) => {
    expect(decodeServerMessage(JSON.stringify(message))).toEqual(message);
  });

  it.each([
    ['not json'],
    ['[]'],
    ['{"type": 1}'],
    ['{"type": "terminal.output", "sessionId": "1"}'],
    ['{"type": "terminal.output", "sessionId": "../x", "data": "a"}'],
    ['{"type": "session.exited", "sessionId": "1", "exitCode": 1.5}'],
    ['{"type": "session.list", "sessions": [{"sessionId": "1"}]}'],
    ['{"type": "error", "message": "no code"}'],
    ['{"type": "pong", "id": [1]}'],
    ['{"type": "session.unknown", "sessionId": "1"}']
  ])('malformed %s decodes to null', frame => {
    expect(decodeServerMessage(frame)).toBeNull();
  });
});

describe('session ids', () => {
  it('are terminal names: \\w+, at most 255 characters', () => {
    expect(isSessionId('1')).toBe(true);
    expect(isSessionId('build_log')).toBe(true);
    expect(isSessionId('a'.repeat(255))).toBe(true);
    expect(isSessionId('a'.repeat(256))).toBe(false);
    expect(isSessionId('')).toBe(false);
    expect(isSessionId('a-b')).toBe(false);
    expect(isSessionId(3)).toBe(false);
  });
});
