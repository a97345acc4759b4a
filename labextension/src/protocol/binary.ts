/**
 * The v2 binary output frame (PROTOCOL.md "Frames", schema.json `binary`):
 * a 13-byte little-endian header — uint8 type, uint32 channel, uint64 offset —
 * then the raw UTF-8 payload, never split inside a UTF-8 sequence.
 */

export const HEADER_SIZE = 13;

/** The header's fields in order (schema.json `binary.header`). */
export const HEADER_LAYOUT: ReadonlyArray<readonly [string, string]> = [
  ['type', 'uint8'],
  ['channel', 'uint32le'],
  ['offset', 'uint64le']
];

/** Frame types of schema.json `binary.types`. */
export enum FrameType {
  /** Live output. */
  Output = 1,
  /** History the client did not see live: written with xterm's replies dropped. */
  Replay = 2
}

export interface IBinaryFrame {
  type: FrameType;
  channel: number;
  /** Stream offset of the payload's first byte. */
  offset: number;
  payload: Uint8Array;
}

const TWO_POW_32 = 0x1_0000_0000;

/** Largest high word whose offset is still a safe JavaScript integer (2^53 − 1). */
const MAX_SAFE_HIGH = 0x1f_ffff;

/** Decode one binary frame; null when it is too short, of unknown type or beyond 2^53. */
export function decodeBinaryFrame(
  data: ArrayBuffer | Uint8Array
): IBinaryFrame | null {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  if (bytes.byteLength < HEADER_SIZE) {
    return null;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = view.getUint8(0);
  if (type !== FrameType.Output && type !== FrameType.Replay) {
    return null;
  }
  const channel = view.getUint32(1, true);
  const low = view.getUint32(5, true);
  const high = view.getUint32(9, true);
  if (high > MAX_SAFE_HIGH || channel === 0) {
    return null;
  }
  return {
    type,
    channel,
    offset: high * TWO_POW_32 + low,
    payload: bytes.subarray(HEADER_SIZE)
  };
}

/** Encode a frame (the server's side: used by tests and tools). */
export function encodeBinaryFrame(frame: IBinaryFrame): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + frame.payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint8(0, frame.type);
  view.setUint32(1, frame.channel, true);
  view.setUint32(5, frame.offset % TWO_POW_32, true);
  view.setUint32(9, Math.floor(frame.offset / TWO_POW_32), true);
  out.set(frame.payload, HEADER_SIZE);
  return out;
}
