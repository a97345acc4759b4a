/**
 * The connection on protocol v2 (PROTOCOL.md) with a fake WebSocket that
 * selects `termmux.v2`: the hello handshake, binary output routed by
 * channel, credit, resume with `since` after a reconnect, truncation, a new
 * shell under a reused name, and the resume point a reload starts from.
 */
import { beforeEach, describe, expect, it } from 'vitest';

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

const BACKOFF_ONLY = 10_000;
let timers: FakeTimers;

function connect(): SessionMultiplexer {
  timers = new FakeTimers();
  return fakeMultiplexer(timers);
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('SessionMultiplexer on protocol v2', () => {
  it('waits for hello before sending anything, then reports protocol v2 and the server', () => {
    const c = connect();
    c.attach('1', new Recorder());
    FakeSocket.serverProtocol = 'termmux.v2';
    lastSocket().open();
    expect(lastSocket().sent).toEqual([]);
    expect(c.status).toBe('connecting');
    lastSocket().receive({
      type: 'hello',
      protocol: 2,
      server: 'jupyter-termmux',
      version: '0.2.0',
      limits: { ackBytes: 100 }
    });
    expect(c.status).toBe('connected');
    expect(c.protocol).toMatchObject({ version: 2, serverVersion: '0.2.0' });
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
  });

  it('speaks v2 when a proxy dropped the subprotocol answer but the server says hello', () => {
    const c = connect();
    const a = new Recorder();
    c.attach('1', a);
    lastSocket().open(); // no subprotocol seen: v1 at first
    expect(c.protocol).toEqual({ version: 1 });
    lastSocket().receive({
      type: 'hello',
      protocol: 2,
      server: 'jupyter-termmux',
      version: '0.2.0',
      limits: {}
    });
    expect(c.protocol).toMatchObject({ version: 2, negotiated: false });
    lastSocket().attached({ channel: 5 });
    lastSocket().frame(5, 0, 'ok');
    expect(a.log).toEqual(['reset:', 'attached', 'out:ok']);
  });

  it('drops a socket that selected v2 but never says hello, and retries', () => {
    const c = connect();
    c.attach('1', new Recorder());
    FakeSocket.serverProtocol = 'termmux.v2';
    const first = lastSocket();
    first.open();
    timers.runAll();
    expect(first.closedWith).toBe(4000);
    expect(c.status).toBe('connecting');
  });

  it('writes binary output of a channel to its session only, replay marked', () => {
    const c = connect();
    c.attach('2', new Recorder());
    const a = new Recorder();
    c.ping();
    attachOnV2(c, a);
    lastSocket().frame(3, 0, 'hé', FrameType.Replay);
    lastSocket().frame(3, 3, 'llo');
    lastSocket().frame(99, 0, 'unknown channel');
    expect(a.log).toEqual(['reset:', 'attached', 'replay:hé', 'out:llo']);
  });

  it('acks every ackBytes parsed and the remainder when the write queue is empty', () => {
    const c = connect();
    const a = new Recorder();
    attachOnV2(c, a, { limits: { ackBytes: 10 } });
    for (let i = 0; i < 4; i++) {
      lastSocket().frame(3, i * 4, 'abcd');
    }
    expect(lastSocket().ofType('ack')).toEqual([]); // nothing parsed yet
    a.complete(3); // 12 bytes parsed, one frame still in xterm's queue
    expect(lastSocket().ofType('ack')).toEqual([
      { type: 'ack', channel: 3, bytes: 12 }
    ]);
    a.complete(1); // queue empty: the 4 left go at once
    expect(
      lastSocket()
        .ofType('ack')
        .map(m => m.bytes)
    ).toEqual([12, 4]);
    for (const m of lastSocket().sent) {
      expect(() => validateClientMessage(m, 2)).not.toThrow();
    }
  });

  it('never acks a released channel or a previous socket', () => {
    const c = connect();
    const a = new Recorder();
    const ch = attachOnV2(c, a, { limits: { ackBytes: 1 } });
    lastSocket().frame(3, 0, 'x');
    lastSocket().frame(3, 1, 'y');
    const first = lastSocket();
    first.drop();
    a.complete(1);
    expect(first.ofType('ack')).toEqual([]);
    ch.dispose();
    a.complete();
    expect(FakeSocket.all.flatMap(s => s.ofType('ack'))).toEqual([]);
  });

  it('resumes with since and incarnation after a reconnect: no reset, exact bytes', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    attachOnV2(c, a, { answer: { offset: 100, preamble: '\x1b[?25l' } });
    lastSocket().frame(3, 100, 'hello');
    lastSocket().drop();
    timers.runAll(BACKOFF_ONLY);
    lastSocket().openV2();
    const attach = lastSocket().ofType('session.attach')[0];
    expect(attach).toMatchObject({
      since: 105,
      incarnation: 'inc-A',
      replay: true
    });
    lastSocket().attached({ channel: 1, offset: 105 });
    lastSocket().frame(1, 105, ' again');
    expect(a.log).toEqual([
      'reset:\x1b[?25l',
      'attached',
      'out:hello',
      'attached',
      'out: again'
    ]);
  });

  it('sends back each session its own resume token after a drop, and only then', () => {
    const c = connect();
    const a = new Recorder();
    const b = new Recorder();
    a.autoComplete = b.autoComplete = true;
    c.attach('1', a);
    c.attach('2', b);
    lastSocket().openV2();
    const first = lastSocket().ofType('session.attach');
    expect(first.map(m => m.resume)).toEqual([undefined, undefined]);
    for (const [i, m] of first.entries()) {
      lastSocket().receive({
        type: 'session.attached',
        sessionId: m.sessionId,
        id: m.id,
        channel: i + 1,
        incarnation: 'inc-A',
        offset: 0,
        truncated: false,
        resume: `tok-${m.sessionId}`
      });
    }
    lastSocket().frame(1, 0, 'one');
    lastSocket().frame(2, 0, 'two!');
    lastSocket().drop();
    timers.runAll(BACKOFF_ONLY);
    lastSocket().openV2();
    const again = lastSocket().ofType('session.attach');
    expect(again.map(m => [m.sessionId, m.since, m.resume])).toEqual([
      ['1', 3, 'tok-1'],
      ['2', 4, 'tok-2']
    ]);
    for (const m of again) {
      expect(() => validateClientMessage(m, 2)).not.toThrow();
    }
  });

  it('sends no token after a reload, nor when a tab attaches the name anew', () => {
    const c = connect();
    const a = new Recorder();
    // A reloaded page: the resume point from workspace state, no token.
    const ch = c.attach('1', a, { offset: 300, incarnation: 'inc-A' });
    lastSocket().openV2();
    expect(lastSocket().ofType('session.attach')[0].resume).toBeUndefined();
    lastSocket().attached({ channel: 1, offset: 300, resume: 'tok-old' });
    ch.dispose(); // the last tab left: detached, the record forgotten
    c.attach('1', new Recorder());
    const attach = lastSocket().ofType('session.attach')[1];
    expect(attach.since).toBeUndefined();
    expect(attach.resume).toBeUndefined();
  });

  it('resets and writes the preamble when the answer says truncated', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    attachOnV2(c, a);
    lastSocket().frame(3, 0, 'old');
    lastSocket().drop();
    timers.runAll(BACKOFF_ONLY);
    lastSocket().openV2();
    lastSocket().attached({
      channel: 1,
      offset: 5000,
      truncated: true,
      preamble: '\x1b[?1049h'
    });
    lastSocket().frame(1, 5000, 'screen', FrameType.Replay);
    expect(a.log.slice(-3)).toEqual([
      'reset:\x1b[?1049h',
      'attached(lost=4997)',
      'replay:screen'
    ]);
  });

  it('handles session.truncated: reset, preamble, then continue at its offset', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    attachOnV2(c, a);
    lastSocket().receive({
      type: 'session.truncated',
      sessionId: '1',
      channel: 3,
      offset: 9000,
      preamble: '\x1b[?25l'
    });
    lastSocket().frame(3, 9000, 'later', FrameType.Replay);
    expect(a.log.slice(-2)).toEqual(['reset:\x1b[?25l', 'replay:later']);
    expect(c.table.get('1')?.offset).toBe(9005);
  });

  it('handles session.skipped: the preamble without a reset, then output at its offset', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    attachOnV2(c, a, { mode: 'view' });
    lastSocket().frame(3, 0, 'early');
    const resets = a.log.filter(entry => entry.startsWith('reset')).length;
    lastSocket().receive({
      type: 'session.skipped',
      sessionId: '1',
      channel: 3,
      offset: 70000,
      preamble: '\x1b[?25h'
    });
    lastSocket().frame(3, 70000, 'late');
    expect(a.log.slice(-3)).toEqual(['out:early', 'out:\x1b[?25h', 'out:late']);
    expect(a.log.filter(entry => entry.startsWith('reset')).length).toBe(
      resets
    );
    expect(c.table.get('1')?.offset).toBe(70004);
  });

  it('says so when the name now belongs to a new shell (another incarnation)', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    c.attach('1', a, { offset: 300, incarnation: 'inc-A' });
    lastSocket().openV2();
    const attach = lastSocket().ofType('session.attach')[0];
    // A reloaded page has an empty screen: no since, but the incarnation it saw.
    expect(attach.since).toBeUndefined();
    expect(attach.incarnation).toBe('inc-A');
    lastSocket().attached({
      channel: 2,
      incarnation: 'inc-B',
      truncated: true
    });
    expect(a.log).toEqual(['reset:', 'attached(new-shell)']);
  });

  it('after a reload, replays in full from scratch (its screen is empty), no notice', () => {
    const c = connect();
    const a = new Recorder();
    c.attach('1', a, { offset: 300, incarnation: 'inc-A' });
    lastSocket().openV2();
    lastSocket().attached({ channel: 2, offset: 400 });
    expect(a.log).toEqual(['reset:', 'attached']);
    expect(c.table.get('1')?.offset).toBe(400);
  });

  it('exposes the resume point for the tab to persist', () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    const ch = attachOnV2(c, a, { answer: { offset: 7 } });
    lastSocket().frame(3, 7, 'abc');
    expect(ch.resumePoint).toEqual({ offset: 10, incarnation: 'inc-A' });
  });

  it('ignores frames on a channel released by detach', () => {
    const c = connect();
    const a = new Recorder();
    const ch = attachOnV2(c, a);
    ch.dispose();
    expect(lastSocket().ofType('session.detach')).toHaveLength(1);
    lastSocket().frame(3, 0, 'late');
    expect(a.log).toEqual(['reset:', 'attached']);
  });
});
