/**
 * Parsing a client text frame as the server does (tests and debugging tools):
 * JSON first (refusing nesting the server's parser refuses), then the
 * table-driven validation of schema.ts.
 */
import { ClientMessage, ProtocolVersion } from './protocol';
import { ProtocolError, validateClientMessage } from './schema';

/** Nesting the server's JSON parser refuses beyond (Python's recursion limit is 1000). */
const MAX_NESTING = 512;

/** Deepest bracket nesting of a JSON text, strings skipped. */
function nesting(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') {
        i++;
      } else if (c === '"') {
        inString = false;
      }
    } else if (c === '"') {
      inString = true;
    } else if (c === '[' || c === '{') {
      deepest = Math.max(deepest, ++depth);
    } else if (c === ']' || c === '}') {
      depth--;
    }
  }
  return deepest;
}

/** Parse and validate a client text frame (tests and debugging tools). */
export function parseClientFrame(
  frame: string,
  version: ProtocolVersion = 2
): ClientMessage {
  if (nesting(frame) > MAX_NESTING) {
    throw new ProtocolError('invalid-json', 'frame is nested too deeply');
  }
  let value: unknown;
  try {
    value = JSON.parse(frame);
  } catch (e) {
    throw new ProtocolError(
      'invalid-json',
      `frame is not valid JSON: ${String(e)}`
    );
  }
  return validateClientMessage(value, version);
}
