/**
 * The TypeScript protocol tables equal protocol/schema.json, field by field:
 * kinds (types, bounds, the session-id rules), client messages (fields,
 * required, defaults, versions), server message types, the binary header,
 * error codes, close codes and the subprotocol name.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { describe, expect, it } from 'vitest';

import { FrameType, HEADER_LAYOUT, HEADER_SIZE } from './binary';
import { SERVER_TYPES } from './decode';
import { CloseCode, ERROR_CODES, SUBPROTOCOL_V2 } from './protocol';
import { CLIENT_MESSAGES, IMessageSpec, KINDS } from './schema';

type JSONObject = { [key: string]: unknown };

const SCHEMA: JSONObject = JSON.parse(
  readFileSync(
    fileURLToPath(new URL('../../protocol/schema.json', import.meta.url)),
    'utf8'
  )
);

/** A copy of `obj` without its `comment` keys. */
function withoutComments(obj: JSONObject): JSONObject {
  return Object.fromEntries(
    Object.entries(obj).filter(([key]) => key !== 'comment')
  );
}

/** schema.json's message entry in the TS shape: object entries are fields, a number is `since`. */
function messageSpec(entry: JSONObject): IMessageSpec {
  const fields: { [name: string]: JSONObject } = {};
  const spec: { fields: typeof fields; since?: number } = { fields };
  for (const [key, value] of Object.entries(entry)) {
    if (typeof value === 'object' && value !== null) {
      fields[key] = value as JSONObject;
    } else if (key === 'since' && typeof value === 'number') {
      spec.since = value;
    } else {
      throw new Error(`unexpected entry ${key} in schema.json`);
    }
  }
  return spec as unknown as IMessageSpec;
}

describe('protocol/schema.json and the TypeScript tables', () => {
  it('declare the same kinds with the same types and bounds', () => {
    const kinds = SCHEMA.kinds as { [name: string]: JSONObject };
    expect(Object.keys(KINDS).sort()).toEqual(Object.keys(kinds).sort());
    for (const [name, kind] of Object.entries(kinds)) {
      expect(KINDS[name as keyof typeof KINDS], name).toEqual(
        withoutComments(kind)
      );
    }
  });

  it('state the decided id rules: lookups any string up to 1024, new names a pattern', () => {
    expect(KINDS.sessionId).toMatchObject({
      type: 'string',
      minLength: 0,
      maxLength: 1024
    });
    expect(KINDS.newSessionId.pattern).toBe('^[A-Za-z0-9_]{1,64}$');
    expect(KINDS.size).toMatchObject({ minimum: 1, maximum: 4096 });
  });

  it('declare the same client messages, fields, required flags, defaults and versions', () => {
    const client = SCHEMA.client as { [type: string]: JSONObject };
    expect(Object.keys(CLIENT_MESSAGES).sort()).toEqual(
      Object.keys(client).sort()
    );
    for (const [type, entry] of Object.entries(client)) {
      const ours = CLIENT_MESSAGES[type as keyof typeof CLIENT_MESSAGES];
      expect(ours, type).toEqual(messageSpec(entry));
    }
  });

  it('decode every server message type the schema lists', () => {
    const server = Object.keys(SCHEMA.server as JSONObject).sort();
    expect([...SERVER_TYPES].sort()).toEqual(server);
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

  it('agree on error codes, close codes and the subprotocol', () => {
    expect(ERROR_CODES).toEqual(SCHEMA.errors);
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
