/**
 * What the TypeScript side keeps of its own agrees with protocol/schema.json:
 * the binary header layout, close codes and the subprotocol name (kinds,
 * messages and error codes are read from the declaration itself, and
 * declaration.spec.ts checks the decoders and encoders against it).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { FrameType, HEADER_LAYOUT, HEADER_SIZE } from './binary';
import { CloseCode, SUBPROTOCOL_V2 } from './protocol';
import { KINDS } from './schema';

type JSONObject = { [key: string]: unknown };

const SCHEMA: JSONObject = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../../protocol/schema.json', import.meta.url)),
    'utf8'
  )
);

describe('protocol/schema.json and the TypeScript tables', () => {
  it('state the decided id rules: lookups any string up to 1024, new names a pattern', () => {
    expect(KINDS.sessionId).toMatchObject({
      type: 'string',
      minLength: 0,
      maxLength: 1024
    });
    expect(KINDS.newSessionId.pattern).toBe('^[A-Za-z0-9_]{1,64}$');
    expect(KINDS.size).toMatchObject({ minimum: 1, maximum: 4096 });
  });

  it('agree on the binary header, its size and frame types', () => {
    const binary = SCHEMA.binary as JSONObject;
    expect(HEADER_LAYOUT).toEqual(binary.header);
    expect(HEADER_SIZE).toBe(binary.headerSize);
    expect(binary.types).toEqual({
      output: FrameType.Output,
      replay: FrameType.Replay
    });
  });

  it('agree on close codes and the subprotocol', () => {
    const close = SCHEMA.close as { [name: string]: number };
    expect(close).toEqual({
      normal: CloseCode.Normal,
      'going-away': CloseCode.GoingAway,
      'invalid-payload': CloseCode.InvalidPayload,
      'policy-violation': CloseCode.PolicyViolation,
      'message-too-big': CloseCode.TooBig,
      'internal-error': CloseCode.InternalError
    });
    expect(SCHEMA.subprotocols).toEqual({ [SUBPROTOCOL_V2]: 2 });
  });
});
