/** The v2 binary frame header, with vectors of our own besides the shared examples. */
import { describe, expect, it } from 'vitest';

import { decodeBinaryFrame, encodeBinaryFrame, FrameType } from './binary';

function hex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g)!.map(h => parseInt(h, 16)));
}

describe('decodeBinaryFrame', () => {
  it('reads type, little-endian channel and 64-bit offset, and the raw payload', () => {
    const frame = decodeBinaryFrame(
      hex('0207000000' + '0100000002000000' + 'e282ac')
    );
    expect(frame).not.toBeNull();
    expect(frame!.type).toBe(FrameType.Replay);
    expect(frame!.channel).toBe(7);
    expect(frame!.offset).toBe(2 * 2 ** 32 + 1);
    expect(new TextDecoder().decode(frame!.payload)).toBe('€');
  });

  it('reads a frame that is a view into a larger buffer', () => {
    const whole = hex('ffff' + '0103000000d204000000000000' + '6869');
    const frame = decodeBinaryFrame(whole.subarray(2));
    expect(frame).toMatchObject({ type: 1, channel: 3, offset: 1234 });
    expect(Array.from(frame!.payload)).toEqual([0x68, 0x69]);
  });

  it('accepts offsets up to 2^53 − 1 and refuses larger ones', () => {
    const max = decodeBinaryFrame(hex('0101000000' + 'ffffffffffff1f00'));
    expect(max!.offset).toBe(Number.MAX_SAFE_INTEGER);
    expect(
      decodeBinaryFrame(hex('0101000000' + '0000000000002000'))
    ).toBeNull();
  });

  it('refuses short frames, unknown types and channel 0', () => {
    expect(decodeBinaryFrame(hex('01030000000000'))).toBeNull();
    expect(
      decodeBinaryFrame(hex('0303000000' + '0000000000000000'))
    ).toBeNull();
    expect(
      decodeBinaryFrame(hex('0100000000' + '0000000000000000'))
    ).toBeNull();
  });

  it('round-trips through encodeBinaryFrame', () => {
    const payload = new TextEncoder().encode('ä€𝄞');
    const bytes = encodeBinaryFrame({
      type: 2,
      channel: 1,
      offset: 1099511627781,
      payload
    });
    expect(Array.from(bytes.slice(0, 13))).toEqual(
      Array.from(hex('02010000000500000000010000'))
    );
    expect(decodeBinaryFrame(bytes)).toMatchObject({
      type: 2,
      channel: 1,
      offset: 1099511627781
    });
  });
});
