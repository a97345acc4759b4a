/**
 * The connection on protocol v1 (the server selects no subprotocol) with a
 * fake WebSocket and hand-run timers: routing, request ids and deadlines,
 * reconnect with backoff, re-attach with replay, input queued while down.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import { TermMuxError } from '../protocol/errors';
import {
  FakeSocket,
  FakeTimers,
  lastSocket,
  Recorder
} from '../fakes.testutil';
import { SessionMultiplexer } from './multiplexer';
import { validateClientMessage } from '../protocol/schema';
import { ConnectionStatus } from '../tokens';

/** Let promise callbacks run (a confirmed send continues after its pong). */
function settle(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

/** Backoff delays stay under this; request deadlines (15 s) above it. */
const BACKOFF_ONLY = 10_000;

let timers: FakeTimers;
let statuses: ConnectionStatus[];

function connect(maxAttempts = 5): SessionMultiplexer {
  timers = new FakeTimers();
  statuses = [];
  const c = new SessionMultiplexer({
    url: 'ws://host/base/api/termmux/socket',
    WebSocket: FakeSocket,
    timers,
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 1000, maxAttempts }
  });
  c.statusChanged.connect((_, s) => statuses.push(s));
  return c;
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('SessionMultiplexer on protocol v1', () => {
  it('opens one socket lazily, offering termmux.v2, shared by every session', () => {
    const c = connect();
    expect(FakeSocket.all).toHaveLength(0);
    c.attach('1', new Recorder());
    c.attach('2', new Recorder());
    c.attach('3', new Recorder());
    void c.listSessions();
    expect(FakeSocket.all).toHaveLength(1);
    expect(lastSocket().protocols).toEqual(['termmux.v2']);
    expect(lastSocket().binaryType).toBe('arraybuffer');
    lastSocket().open();
    const attaches = lastSocket().ofType('session.attach');
    expect(attaches.map(m => m.sessionId)).toEqual(['1', '2', '3']);
    expect(
      attaches.every(m => m.replay === true && m.since === undefined)
    ).toBe(true);
    expect(lastSocket().ofType('session.list')).toHaveLength(1);
  });

  it('falls back to v1 when the server selects no subprotocol and says so', () => {
    const c = connect();
    c.attach('1', new Recorder());
    lastSocket().open();
    expect(c.protocol).toEqual({ version: 1 });
    expect(c.status).toBe('connected');
  });

  it('routes output by sessionId to that session only', () => {
    const c = connect();
    const a = new Recorder();
    const b = new Recorder();
    c.attach('1', a);
    c.attach('2', b);
    lastSocket().open();
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: '1',
      data: 'one'
    });
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: '2',
      data: 'two',
      replay: true
    });
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: '9',
      data: 'nobody'
    });
    expect(a.log).toEqual(['out:one']);
    expect(b.log).toEqual(['replay:two']);
  });

  it('accepts output for any valid session id, also names REST allows like été or ../x', () => {
    const c = connect();
    const a = new Recorder();
    const b = new Recorder();
    c.attach('été', a);
    c.attach('../x', b);
    lastSocket().open();
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: 'été',
      data: 'à'
    });
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: '../x',
      data: 'y'
    });
    expect(a.log).toEqual(['out:à']);
    expect(b.log).toEqual(['out:y']);
  });

  it('settles requests by id and rejects on error frames', async () => {
    const c = connect();
    const created = c.createSession({ cwd: 'notebooks' });
    const closed = c.closeSession('nope');
    lastSocket().open();
    const create = lastSocket().ofType('session.create')[0];
    expect(create.cwd).toBe('notebooks');
    lastSocket().receive({
      type: 'session.created',
      sessionId: 'train',
      id: create.id
    });
    await expect(created).resolves.toBe('train');
    lastSocket().answer('session.close', {
      type: 'error',
      code: 'unknown-session',
      message: "no session 'nope'",
      sessionId: 'nope',
      request: 'session.close'
    });
    await expect(closed).rejects.toMatchObject({ code: 'unknown-session' });
  });

  it('rejects a request the server does not answer within the deadline', async () => {
    const c = connect();
    const listing = c.listSessions();
    lastSocket().open();
    expect(timers.runAll()).toContain(15_000);
    await expect(listing).rejects.toMatchObject({ code: 'timeout' });
  });

  it('rejects a request whose answer does not decode, at once', async () => {
    const c = connect();
    const listing = c.listSessions();
    lastSocket().open();
    lastSocket().answer('session.list', {
      type: 'session.list',
      sessions: 'many'
    });
    await expect(listing).rejects.toMatchObject({ code: 'invalid-answer' });
  });

  it('decodes a session.list item by item: an odd entry never hides the others', async () => {
    const c = connect();
    const listing = c.listSessions();
    lastSocket().open();
    lastSocket().answer('session.list', {
      type: 'session.list',
      sessions: [
        { sessionId: 'été', clients: 1, attached: false },
        { sessionId: 7, clients: 0, attached: false },
        { sessionId: 'with space', clients: 0, attached: true },
        'junk',
        { sessionId: 'x', clients: -1, attached: false },
        { sessionId: '', clients: 0, attached: false }
      ]
    });
    const sessions = await listing;
    expect(sessions.map(s => s.sessionId)).toEqual(['été', 'with space', '']);
  });

  it('lists shell profiles item by item and starts a session with one', async () => {
    const c = connect();
    const profiles = c.listProfiles();
    const created = c.createSession({ profile: 'python', rows: 24, cols: 80 });
    lastSocket().open();
    lastSocket().answer('profile.list', {
      type: 'profile.list',
      profiles: [
        { name: 'default', default: true },
        { name: 3 },
        { name: 'python', default: false }
      ]
    });
    expect((await profiles).map(p => p.name)).toEqual(['default', 'python']);
    const create = lastSocket().ofType('session.create')[0];
    expect(create).toMatchObject({ profile: 'python', rows: 24, cols: 80 });
    expect(() => validateClientMessage(create, 1)).not.toThrow();
    lastSocket().answer('session.create', {
      type: 'session.created',
      sessionId: '4'
    });
    await expect(created).resolves.toBe('4');
  });

  it('queues input until attached, then sends it after the size, confirmed as a paste is', async () => {
    const c = connect();
    const ch = c.attach('1', new Recorder());
    ch.send('ls');
    ch.send('\r');
    ch.resize(30, 100);
    lastSocket().open();
    expect(lastSocket().ofType('terminal.input')).toHaveLength(0);
    lastSocket().answer('session.attach', {
      type: 'session.attached',
      sessionId: '1'
    });
    const after = lastSocket().sent.slice(-3);
    expect(after[0]).toMatchObject({
      type: 'terminal.resize',
      sessionId: '1',
      rows: 30,
      cols: 100
    });
    expect(after[1]).toMatchObject({
      type: 'terminal.input',
      sessionId: '1',
      data: 'ls\r'
    });
    expect(after[1].id).toBeTypeOf('number');
    expect(after[2]).toMatchObject({ type: 'ping' });
    // Typed before the server confirmed the kept input: it waits behind it.
    ch.send('x');
    expect(lastSocket().ofType('terminal.input')).toHaveLength(1);
    lastSocket().answer('ping', { type: 'pong' });
    await settle();
    expect(lastSocket().ofType('terminal.input').at(-1)).toMatchObject({
      data: 'x'
    });
    lastSocket().answer('ping', { type: 'pong' });
    await settle();
    ch.send('y'); // nothing kept any more: straight through, unconfirmed
    expect(lastSocket().sent.at(-1)).toEqual({
      type: 'terminal.input',
      sessionId: '1',
      data: 'y'
    });
  });

  it('detaches only when the last listener of a session leaves', () => {
    const c = connect();
    const a = c.attach('1', new Recorder());
    const second = new Recorder();
    lastSocket().open();
    lastSocket().answer('session.attach', {
      type: 'session.attached',
      sessionId: '1'
    });
    const b = c.attach('1', second);
    // v1: no second attach; a second tab is drawn from what the first got, none here (views.spec.ts).
    expect(second.log).toEqual(['attached']);
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
    a.dispose();
    expect(lastSocket().ofType('session.detach')).toHaveLength(0);
    b.dispose();
    b.dispose();
    expect(b.isDisposed).toBe(true);
    expect(lastSocket().ofType('session.detach')).toHaveLength(1);
  });

  it('reconnects with backoff after a drop and re-attaches every session with replay', () => {
    const c = connect();
    const ch = c.attach('1', new Recorder());
    c.attach('2', new Recorder());
    const first = lastSocket();
    first.open();
    first.answer('session.attach', {
      type: 'session.attached',
      sessionId: '2'
    });
    first.drop(1006);
    expect(c.status).toBe('reconnecting');
    ch.send('typed while down\r');
    expect(timers.runAll(BACKOFF_ONLY)).toEqual([0]); // first retry at once
    const second = lastSocket();
    expect(second).not.toBe(first);
    second.drop(1006); // failed before opening while offering v2: retried at once offering none
    expect(lastSocket().protocols).toEqual([]);
    lastSocket().drop(1006);
    expect(timers.runAll(BACKOFF_ONLY)).toEqual([50]); // attempt 1: 0.5 of [0, 100]
    expect(lastSocket().protocols).toEqual(['termmux.v2']);
    const third = lastSocket();
    third.open();
    expect(c.status).toBe('connected');
    const attaches = third.ofType('session.attach');
    expect(attaches.map(m => [m.sessionId, m.replay])).toEqual([
      ['1', true],
      ['2', true]
    ]);
    // The queued input goes only after the re-attach is confirmed, never before.
    expect(third.ofType('terminal.input')).toHaveLength(0);
    third.receive({
      type: 'session.attached',
      sessionId: '1',
      id: attaches[0].id
    });
    expect(third.ofType('terminal.input')).toMatchObject([
      { type: 'terminal.input', sessionId: '1', data: 'typed while down\r' }
    ]);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('keeps requests made while down queued (not failed) until a socket is ready', async () => {
    const c = connect();
    c.attach('1', new Recorder());
    lastSocket().open();
    lastSocket().drop();
    const ping = c.ping();
    timers.runAll(BACKOFF_ONLY);
    lastSocket().open();
    lastSocket().answer('ping', { type: 'pong' });
    await expect(ping).resolves.toBeUndefined();
  });

  it('retries server-initiated closes, 1000 and 1001 included', () => {
    const c = connect();
    c.attach('1', new Recorder());
    lastSocket().open();
    lastSocket().drop(1001);
    expect(c.status).toBe('reconnecting');
    timers.runAll(BACKOFF_ONLY);
    lastSocket().open();
    lastSocket().drop(1000);
    expect(c.status).toBe('reconnecting');
    expect(timers.queue.filter(t => t.ms < BACKOFF_ONLY)).toHaveLength(1);
  });

  it('gives up after maxAttempts (status closed) and reconnect() starts over', () => {
    const c = connect(2);
    c.attach('1', new Recorder());
    const failBoth = (): void => {
      lastSocket().drop(); // offering v2
      lastSocket().drop(); // its fallback offering nothing
    };
    failBoth();
    timers.runAll(BACKOFF_ONLY);
    failBoth();
    timers.runAll(BACKOFF_ONLY);
    failBoth();
    expect(FakeSocket.all).toHaveLength(6);
    expect(c.status).toBe('closed');
    expect(timers.queue).toHaveLength(0);
    const n = FakeSocket.all.length;
    c.reconnect();
    expect(FakeSocket.all.length).toBe(n + 1);
    lastSocket().open();
    expect(c.status).toBe('connected');
  });

  it('does not reconnect after an intentional dispose', () => {
    const c = connect();
    c.attach('1', new Recorder());
    lastSocket().open();
    c.dispose();
    expect(lastSocket().closedWith).toBe(1000);
    expect(c.status).toBe('closed');
    expect(timers.queue).toHaveLength(0);
  });

  it('rejects requests that were in flight when the socket dropped', async () => {
    const c = connect();
    const listing = c.listSessions();
    lastSocket().open();
    lastSocket().drop();
    await expect(listing).rejects.toBeInstanceOf(TermMuxError);
  });

  it('tells listeners when their session exits, with the signal, and forgets it', () => {
    const c = connect();
    const a = new Recorder();
    c.attach('1', a);
    lastSocket().open();
    lastSocket().receive({
      type: 'session.exited',
      sessionId: '1',
      exitCode: null,
      signal: 'SIGKILL'
    });
    lastSocket().receive({
      type: 'terminal.output',
      sessionId: '1',
      data: 'late'
    });
    expect(a.log).toEqual(['exited:null:SIGKILL']);
    lastSocket().drop();
    timers.runAll(BACKOFF_ONLY);
    lastSocket().open();
    expect(lastSocket().ofType('session.attach')).toHaveLength(0);
  });

  it('drops a session that cannot be attached (e.g. gone after a reload)', () => {
    const c = connect();
    const a = new Recorder();
    c.attach('old', a);
    lastSocket().open();
    lastSocket().answer('session.attach', {
      type: 'error',
      code: 'unknown-session',
      message: "no session 'old'",
      sessionId: 'old',
      request: 'session.attach'
    });
    expect(a.log).toEqual(['detached:unknown-session']);
  });

  it('restarts the socket when an attach is never answered, and says so', () => {
    const c = connect();
    const failures: string[] = [];
    c.failed.connect((_, err) => failures.push(err.message));
    c.attach('1', new Recorder());
    const first = lastSocket();
    first.open();
    timers.runAll();
    expect(first.closedWith).toBe(4000);
    expect(failures).toEqual([
      'Attaching terminal 1: no answer from the server in 15 s'
    ]);
    expect(c.status).toBe('reconnecting');
  });

  it('re-attaches after an unsolicited slow detach', () => {
    const c = connect();
    const a = new Recorder();
    c.attach('1', a);
    lastSocket().open();
    lastSocket().answer('session.attach', {
      type: 'session.attached',
      sessionId: '1'
    });
    lastSocket().receive({
      type: 'session.detached',
      sessionId: '1',
      reason: 'slow'
    });
    expect(a.log).toEqual(['attached', 'detached:slow']);
    timers.runAll(BACKOFF_ONLY);
    expect(lastSocket().ofType('session.attach')).toHaveLength(2);
  });

  it('sends only frames the server validates', () => {
    const c = connect();
    const ch = c.attach('1', new Recorder());
    lastSocket().open();
    lastSocket().answer('session.attach', {
      type: 'session.attached',
      sessionId: '1'
    });
    ch.send('a');
    ch.resize(24, 80);
    void c.ping();
    void c.createSession();
    ch.dispose();
    for (const m of lastSocket().sent) {
      expect(() => validateClientMessage(m)).not.toThrow();
    }
  });
});
