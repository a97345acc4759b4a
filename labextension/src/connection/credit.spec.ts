/** Credit batching per channel (PROTOCOL.md "Flow control"), without sockets. */
import { describe, expect, it } from 'vitest';

import { CreditCounter } from './credit';

function counter(ackBytes: number): { c: CreditCounter; acks: number[][] } {
  const acks: number[][] = [];
  return {
    c: new CreditCounter(ackBytes, (ch, n) => acks.push([ch, n])),
    acks
  };
}

describe('CreditCounter', () => {
  it('acks once ackBytes are parsed while more writes are in flight', () => {
    const { c, acks } = counter(100);
    for (let i = 0; i < 4; i++) {
      c.begin(1);
    }
    c.done(1, 60);
    expect(acks).toEqual([]);
    c.done(1, 60);
    expect(acks).toEqual([[1, 120]]);
  });

  it('acks the remainder as soon as the channel has nothing in flight', () => {
    const { c, acks } = counter(100);
    c.begin(1);
    c.done(1, 5);
    expect(acks).toEqual([[1, 5]]);
    expect(c.pending(1)).toBe(0);
  });

  it('keeps channels apart and never sends a zero ack', () => {
    const { c, acks } = counter(100);
    c.begin(1);
    c.begin(2);
    c.done(2, 0);
    c.done(1, 7);
    expect(acks).toEqual([[1, 7]]);
  });

  it('sends nothing for a released channel or after close', () => {
    const { c, acks } = counter(1);
    c.begin(1);
    c.begin(2);
    c.release(1);
    c.done(1, 10);
    c.close();
    c.done(2, 10);
    expect(acks).toEqual([]);
  });
});
