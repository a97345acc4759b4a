import { describe, expect, it } from 'vitest';

import { FlowWriter } from './flow';

/** A fake xterm write: records writes, completes them when told. */
function sink() {
  const written: string[] = [];
  const suppressed: boolean[] = [];
  const pending: Array<() => void> = [];
  return {
    written,
    suppressed,
    pending,
    write: (data: string, suppress: boolean, done: () => void) => {
      written.push(data);
      suppressed.push(suppress);
      pending.push(done);
    },
    completeAll: () => {
      while (pending.length) {
        pending.shift()!();
      }
    }
  };
}

const OPTS = { highWater: 10, lowWater: 4, maxChunk: 8 };

describe('FlowWriter', () => {
  it('hands data straight to xterm below the high watermark', () => {
    const s = sink();
    const f = new FlowWriter(s.write, OPTS);
    f.write('abc');
    f.write('def');
    expect(s.written).toEqual(['abc', 'def']);
    expect(f.inFlight).toBe(6);
    expect(f.paused).toBe(false);
  });

  it('holds data above the high watermark and drains it coalesced below the low one', () => {
    const s = sink();
    const f = new FlowWriter(s.write, OPTS);
    f.write('0123456789'); // reaches highWater
    expect(f.paused).toBe(true);
    f.write('ab');
    f.write('cd');
    f.write('efghij');
    expect(s.written).toEqual(['0123456789']);
    expect(f.queued).toBe(10);
    s.pending.shift()!();
    // Coalesced up to maxChunk, nothing lost, order kept.
    expect(s.written.slice(1).join('')).toBe(
      'abcdefghij'.slice(0, s.written.slice(1).join('').length)
    );
    s.completeAll();
    s.completeAll();
    expect(s.written.join('')).toBe('0123456789abcdefghij');
    expect(f.queued).toBe(0);
    expect(f.inFlight).toBe(0);
  });

  it('never coalesces replayed text with live text: each keeps its flag', () => {
    const s = sink();
    const f = new FlowWriter(s.write, OPTS);
    f.write('0123456789'); // reaches highWater
    f.write('ab');
    f.write('cd', true);
    f.write('ef', true);
    f.write('gh');
    s.completeAll();
    s.completeAll();
    s.completeAll();
    expect(s.written).toEqual(['0123456789', 'ab', 'cdef', 'gh']);
    expect(s.suppressed).toEqual([false, false, true, false]);
  });

  it('drops only what it still holds on clearQueued (a replay follows)', () => {
    const s = sink();
    const f = new FlowWriter(s.write, OPTS);
    f.write('0123456789');
    f.write('lost');
    f.clearQueued();
    f.write('replay');
    s.completeAll();
    s.completeAll();
    expect(s.written.join('')).toBe('0123456789replay');
  });
});
