/** What a tab writes into xterm.js and when xterm's own replies are dropped. */
import { describe, expect, it } from 'vitest';

import { FakeTimers } from '../fakes.testutil';
import {
  BACKGROUND_REST,
  FULL_RESET,
  TerminalWriter,
  WRITE_SLICE
} from './writer';

/** A fake xterm: records writes; parses them (runs callbacks) when told. */
class FakeTerm {
  writes: Array<string | Uint8Array> = [];
  callbacks: Array<() => void> = [];
  write(data: string | Uint8Array, callback?: () => void): void {
    this.writes.push(data);
    this.callbacks.push(callback ?? (() => undefined));
  }
  parse(n = this.callbacks.length): void {
    for (const cb of this.callbacks.splice(0, n)) {
      cb();
    }
  }
}

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/** A writer for a hidden tab, with a fake xterm and fake timers (a clock that stands still). */
function paced(): { term: FakeTerm; timers: FakeTimers; w: TerminalWriter } {
  const term = new FakeTerm();
  const timers = new FakeTimers();
  const w = new TerminalWriter(term, timers, () => 0);
  w.background = true;
  return { term, timers, w };
}

describe('TerminalWriter', () => {
  it('drops replies while a replay frame is parsed, and only then', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    const done: string[] = [];
    w.write({
      data: bytes('\x1b[6n'),
      replay: true,
      done: () => done.push('r')
    });
    w.write({ data: bytes('live'), replay: false, done: () => done.push('l') });
    expect(w.suppressReplies).toBe(true);
    term.parse(1);
    expect(w.suppressReplies).toBe(false);
    expect(done).toEqual(['r']);
    term.parse(1);
    expect(done).toEqual(['r', 'l']);
  });

  it('keeps the end in view after each replayed slice, not after live output', () => {
    const term = new FakeTerm();
    let scrolled = 0;
    const sink = Object.assign(term, { scrollToBottom: () => scrolled++ });
    const w = new TerminalWriter(sink);
    w.reset('');
    w.write({ data: bytes('old'), replay: true, done: () => undefined });
    w.write({ data: bytes('new'), replay: false, done: () => undefined });
    term.parse(2);
    expect(scrolled).toBe(2); // the reset and the replay
    term.parse(1);
    expect(scrolled).toBe(2);
  });

  it('writes v2 bytes straight to xterm, no copy, no queue', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    const data = bytes('abc');
    w.write({ data, replay: false, done: () => undefined });
    expect(term.writes).toEqual([data]);
    expect(term.writes[0]).toBe(data);
    expect(w.suppressReplies).toBe(false);
  });

  it('resets in-stream, then writes the preamble with replies dropped', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    w.reset('\x1b[?1049h');
    expect(term.writes).toEqual([FULL_RESET + '\x1b[?1049h']);
    expect(w.suppressReplies).toBe(true);
    term.parse();
    expect(w.suppressReplies).toBe(false);
  });

  it('keeps v1 behaviour: text through the watermarks, a replay resets in-stream', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    let completed = 0;
    w.write({ data: 'a', replay: false, done: () => completed++ });
    w.write({ data: 'screen', replay: true, done: () => completed++ });
    expect(term.writes).toEqual(['a', FULL_RESET + 'screen']);
    expect(completed).toBe(2);
  });

  it('resets once per v1 replay, so its first frame (the modes preamble) holds', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    const done = (): void => undefined;
    w.write({ data: '\x1b[?1049h', replay: true, done });
    w.write({ data: 'screen', replay: true, done });
    w.write({ data: 'live', replay: false, done });
    w.write({ data: 'again', replay: true, done });
    w.attached();
    w.write({ data: 'fresh', replay: true, done });
    expect(term.writes.join('')).toEqual(
      FULL_RESET +
        '\x1b[?1049hscreenlive' +
        FULL_RESET +
        'again' +
        FULL_RESET +
        'fresh'
    );
  });

  it('writes notices as dim lines after the output', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    w.notice('session 1 exited with code 0, killed by SIGKILL');
    expect(term.writes).toEqual([
      '\r\n\x1b[2m[session 1 exited with code 0, killed by SIGKILL]\x1b[0m\r\n'
    ]);
  });

  it.each([false, true])(
    'completes the writes a disposed terminal will never parse, once each (hidden: %s)',
    hidden => {
      const term = new FakeTerm();
      const timers = new FakeTimers();
      const w = new TerminalWriter(term, timers, () => 0);
      w.background = hidden; // a paced tab holds 'b' back: it is completed all the same
      const done: string[] = [];
      w.write({ data: bytes('a'), replay: false, done: () => done.push('a') });
      w.write({ data: bytes('b'), replay: false, done: () => done.push('b') });
      term.parse(1);
      w.dispose();
      expect(done).toEqual(['a', 'b']);
      expect(timers.queue.length).toBe(0);
      expect(w.held).toBe(0);
      term.parse(); // a late callback completes nothing twice
      w.write({ data: bytes('c'), replay: false, done: () => done.push('c') });
      expect(done).toEqual(['a', 'b', 'c']);
    }
  );

  it('writes large v2 frames in slices and completes once, after the last', () => {
    const term = new FakeTerm();
    const w = new TerminalWriter(term);
    const data = new Uint8Array(WRITE_SLICE * 2 + 5);
    let completed = 0;
    w.write({ data, replay: false, done: () => completed++ });
    expect(term.writes.map(p => p.length)).toEqual([
      WRITE_SLICE,
      WRITE_SLICE,
      5
    ]);
    expect((term.writes[0] as Uint8Array).buffer).toBe(data.buffer); // views, no copy
    term.parse(2);
    expect(completed).toBe(0);
    term.parse(1);
    expect(completed).toBe(1);
  });

  it('paces a hidden tab: one slice, then a rest twice as long as it took', () => {
    const term = new FakeTerm();
    const timers = new FakeTimers();
    let clock = 0;
    const w = new TerminalWriter(term, timers, () => clock);
    w.background = true;
    let completed = 0;
    w.write({
      data: new Uint8Array(WRITE_SLICE * 3),
      replay: false,
      done: () => completed++
    });
    expect(term.writes.length).toBe(1); // the rest is held, not handed to xterm
    expect(w.held).toBe(WRITE_SLICE * 2);
    clock = 10; // xterm took 10 ms for that slice
    term.parse(1);
    expect(timers.queue.map(t => t.ms)).toEqual([10 * BACKGROUND_REST]);
    expect(term.writes.length).toBe(1); // resting: the tab in front has the page
    timers.runAll();
    expect(term.writes.length).toBe(2);
    term.parse(1);
    timers.runAll();
    term.parse(1);
    expect(completed).toBe(1);
    expect(w.held).toBe(0);
  });

  it('catches up at once when the tab is shown again, in order', () => {
    const { term, timers, w } = paced();
    const done: string[] = [];
    w.write({ data: bytes('one'), replay: true, done: () => done.push('1') });
    w.write({ data: bytes('two'), replay: false, done: () => done.push('2') });
    w.write({
      data: bytes('three'),
      replay: false,
      done: () => done.push('3')
    });
    expect(term.writes.length).toBe(1);
    expect(w.suppressReplies).toBe(true); // the replay is what xterm parses
    term.parse(1);
    expect(timers.queue.length).toBe(1);
    w.background = false;
    expect(timers.queue.length).toBe(0); // no rest in front
    expect(
      term.writes.map(d => new TextDecoder().decode(d as Uint8Array))
    ).toEqual(['one', 'two', 'three']);
    expect(w.suppressReplies).toBe(false);
    term.parse();
    expect(done).toEqual(['1', '2', '3']);
  });

  it('never paces v1 text: no credit would slow its server, it would only pile up', () => {
    const { term, timers, w } = paced();
    w.write({ data: 'one', replay: false, done: () => undefined });
    w.write({ data: 'two', replay: false, done: () => undefined });
    expect(term.writes).toEqual(['one', 'two']); // both at once, hidden or not
    term.parse();
    expect(timers.queue.length).toBe(0);
    expect(w.held).toBe(0);
  });
});
