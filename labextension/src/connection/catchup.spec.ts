/**
 * Catching up (catchup.ts): the pure rule, then the connection with a fake
 * v2 socket: a flood out of sight is acknowledged undrawn, and showing a tab
 * attaches again `since` what its screen shows.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import { CatchUp, SKIP_AFTER } from './catchup';
import { FrameType } from '../protocol/binary';
import {
  attachOnV2,
  FakeSocket,
  FakeTimers,
  lastSocket,
  Recorder,
  fakeMultiplexer
} from '../fakes.testutil';
import { SessionMultiplexer } from './multiplexer';
import { validateClientMessage } from '../protocol/schema';

describe('CatchUp', () => {
  it('draws output out of sight up to its limit, then skips until the stream restarts', () => {
    const c = new CatchUp(100);
    expect(c.arrive(60, false)).toBe(false);
    expect(c.arrive(40, false)).toBe(false); // 100: at the limit, still drawn
    expect(c.arrive(1, false)).toBe(true);
    expect(c.arrive(1000, false)).toBe(true);
    expect(c.skipping).toBe(true);
    expect(c.shown()).toBe(true); // must catch up
    expect(c.arrive(5, true)).toBe(true); // the old stream, until the answer
    c.restart();
    expect(c.skipping).toBe(false);
    expect(c.arrive(5, true)).toBe(false);
  });

  it('counts only output since a tab of the session was last in sight', () => {
    const c = new CatchUp(100);
    c.arrive(90, false);
    c.arrive(1, true); // in sight: drawn, count starts over
    expect(c.unseen).toBe(0);
    expect(c.arrive(90, false)).toBe(false);
    expect(c.shown()).toBe(false); // nothing skipped: no catch-up
    expect(c.arrive(90, false)).toBe(false);
  });
});

let timers: FakeTimers;

function connect(): SessionMultiplexer {
  timers = new FakeTimers();
  return fakeMultiplexer(timers);
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('SessionMultiplexer catching up', () => {
  it('acks a flood out of sight undrawn and, once shown, attaches since the drawn offset', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    a.isVisible = false;
    const channel = attachOnV2(c, a, {
      limits: { ackBytes: 1 },
      answer: { resume: 'tok' }
    });
    const drawn = 'a'.repeat(SKIP_AFTER);
    lastSocket().frame(3, 0, drawn);
    lastSocket().frame(3, SKIP_AFTER, 'skipped'); // past the limit
    lastSocket().frame(3, SKIP_AFTER + 7, 'too');
    expect(a.log.filter(e => e.startsWith('out:')).map(e => e.length)).toEqual([
      4 + SKIP_AFTER
    ]);
    // Every byte is acknowledged, so the server reads the PTY on.
    const acked = lastSocket()
      .ofType('ack')
      .reduce((n, m) => n + (m.bytes as number), 0);
    expect(acked).toBe(SKIP_AFTER + 10);
    // A reload would resume from what the screen shows.
    expect(channel.resumePoint?.offset).toBe(SKIP_AFTER);

    a.isVisible = true;
    channel.catchUp();
    const again = lastSocket().ofType('session.attach');
    expect(again).toHaveLength(2);
    expect(again[1]).toMatchObject({ sessionId: '1', since: SKIP_AFTER });
    expect(again[1].resume).toBeUndefined(); // no reservation to release
    expect(() => validateClientMessage(again[1], 2)).not.toThrow();
    lastSocket().frame(3, SKIP_AFTER + 10, 'old stream'); // ignored
    lastSocket().attached({
      channel: 4,
      offset: SKIP_AFTER + 5,
      truncated: true,
      preamble: 'P'
    });
    lastSocket().frame(4, SKIP_AFTER + 5, 'dtoo', FrameType.Replay);
    expect(a.log.slice(-3)).toEqual([
      'reset:P',
      'attached(lost=5)',
      'replay:dtoo'
    ]);
    channel.catchUp(); // nothing skipped since: no attach
    expect(lastSocket().ofType('session.attach')).toHaveLength(2);
  });

  it('draws everything when a tab of the session is in sight', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    const channel = attachOnV2(c, a, { limits: { ackBytes: 1 } });
    lastSocket().frame(3, 0, 'a'.repeat(SKIP_AFTER));
    lastSocket().frame(3, SKIP_AFTER, 'b'.repeat(SKIP_AFTER));
    expect(a.log.filter(e => e.startsWith('out:'))).toHaveLength(2);
    channel.catchUp();
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
  });
});
