/**
 * The connection's state machine with an injected fake WebSocket and fake
 * timers (no DOM, no network): routing, request ids, reconnect with backoff,
 * re-attach with replay, and input queued while disconnected.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import { ConnectionStatus, ITimers, IWebSocketLike, TermMuxConnection, TermMuxError } from './connection';
import { validateClientMessage } from './protocol';

/** A frame as the fake socket received it. */
type Sent = { type: string; id?: number; [key: string]: unknown };
import { ISessionListener } from './router';

class FakeSocket implements IWebSocketLike {
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: Sent[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    expect(this.readyState).toBe(1);
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  // -- test controls
  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  receive(msg: object): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** Answer the last sent message of `type` with `reply` (its id echoed). */
  answer(type: string, reply: object): void {
    const req = [...this.sent].reverse().find(m => m.type === type);
    expect(req, `no ${type} sent`).toBeDefined();
    this.receive({ ...reply, id: req!.id });
  }

  ofType(type: string): Sent[] {
    return this.sent.filter(m => m.type === type);
  }
}

class FakeTimers implements ITimers {
  queue: Array<{ fn: () => void; ms: number; handle: number }> = [];
  private _next = 0;
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = ++this._next;
    this.queue.push({ fn, ms, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter(t => t.handle !== handle);
  }
  runAll(): number[] {
    const q = this.queue;
    this.queue = [];
    q.forEach(t => t.fn());
    return q.map(t => t.ms);
  }
}

function recorder(): ISessionListener & { log: string[] } {
  const log: string[] = [];
  return {
    log,
    onOutput: (data, replay) => log.push(replay ? `replay:${data}` : `out:${data}`),
    onExited: code => log.push(`exited:${code}`),
    onAttached: () => log.push('attached'),
    onDetached: reason => log.push(`detached:${reason}`)
  };
}

let timers: FakeTimers;
let statuses: ConnectionStatus[];

function connect(maxAttempts = 5): TermMuxConnection {
  timers = new FakeTimers();
  statuses = [];
  const c = new TermMuxConnection({
    url: 'ws://host/base/api/termmux/socket',
    WebSocket: FakeSocket,
    timers,
    random: () => 0.5,
    backoff: { baseMs: 100, maxMs: 1000, maxAttempts }
  });
  c.statusChanged.connect((_, s) => statuses.push(s));
  return c;
}

function last(): FakeSocket {
  return FakeSocket.all[FakeSocket.all.length - 1];
}

beforeEach(() => {
  FakeSocket.all = [];
});

describe('TermMuxConnection', () => {
  it('opens one socket lazily, shared by every session', () => {
    const c = connect();
    expect(FakeSocket.all).toHaveLength(0);
    c.attach('1', recorder());
    c.attach('2', recorder());
    c.attach('3', recorder());
    void c.listSessions();
    expect(FakeSocket.all).toHaveLength(1);
    last().open();
    expect(last().ofType('session.attach').map(m => m.sessionId)).toEqual(['1', '2', '3']);
    expect(last().ofType('session.attach').every(m => m.replay === true)).toBe(true);
    expect(last().ofType('session.list')).toHaveLength(1);
  });

  it('routes output by sessionId to that session only', () => {
    const c = connect();
    const a = recorder();
    const b = recorder();
    c.attach('1', a);
    c.attach('2', b);
    last().open();
    last().receive({ type: 'terminal.output', sessionId: '1', data: 'one' });
    last().receive({ type: 'terminal.output', sessionId: '2', data: 'two', replay: true });
    last().receive({ type: 'terminal.output', sessionId: '9', data: 'nobody' });
    expect(a.log).toEqual(['out:one']);
    expect(b.log).toEqual(['replay:two']);
  });

  it('settles requests by id and rejects on error frames', async () => {
    const c = connect();
    const created = c.createSession({ cwd: 'notebooks' });
    const closed = c.closeSession('nope');
    last().open();
    const create = last().ofType('session.create')[0];
    expect(create.cwd).toBe('notebooks');
    last().receive({ type: 'session.created', sessionId: 'train', id: create.id });
    await expect(created).resolves.toBe('train');
    last().answer('session.close', {
      type: 'error',
      code: 'unknown-session',
      message: "no session 'nope'",
      sessionId: 'nope',
      request: 'session.close'
    });
    await expect(closed).rejects.toMatchObject({ code: 'unknown-session' });
  });

  it('queues input until attached, then sends it after the size', () => {
    const c = connect();
    const ch = c.attach('1', recorder());
    ch.send('ls');
    ch.send('\r');
    ch.resize(30, 100);
    last().open();
    expect(last().ofType('terminal.input')).toHaveLength(0);
    last().answer('session.attach', { type: 'session.attached', sessionId: '1' });
    const after = last().sent.slice(-2);
    expect(after[0]).toMatchObject({ type: 'terminal.resize', sessionId: '1', rows: 30, cols: 100 });
    expect(after[1]).toMatchObject({ type: 'terminal.input', sessionId: '1', data: 'ls\r' });
    ch.send('x');
    expect(last().sent[last().sent.length - 1]).toMatchObject({ type: 'terminal.input', data: 'x' });
  });

  it('detaches only when the last listener of a session leaves', () => {
    const c = connect();
    const a = c.attach('1', recorder());
    const second = recorder();
    last().open();
    last().answer('session.attach', { type: 'session.attached', sessionId: '1' });
    const b = c.attach('1', second);
    expect(second.log).toEqual(['attached']);
    expect(last().ofType('session.attach')).toHaveLength(1);
    a.dispose();
    expect(last().ofType('session.detach')).toHaveLength(0);
    b.dispose();
    b.dispose();
    expect(last().ofType('session.detach')).toHaveLength(1);
  });

  it('reconnects with backoff after a drop and re-attaches every session with replay', () => {
    const c = connect();
    const a = recorder();
    const ch = c.attach('1', a);
    c.attach('2', recorder());
    const first = last();
    first.open();
    first.answer('session.attach', { type: 'session.attached', sessionId: '2' });
    expect(c.status).toBe('connected');

    first.drop(1006);
    expect(c.status).toBe('reconnecting');
    ch.send('typed while down\r');
    expect(timers.runAll()).toEqual([0]); // first retry at once
    const second = last();
    expect(second).not.toBe(first);
    second.drop(1006);
    expect(timers.runAll()).toEqual([50]); // attempt 1: random 0.5 of [0, 100]
    const third = last();
    third.open();
    expect(c.status).toBe('connected');
    expect(third.ofType('session.attach').map(m => [m.sessionId, m.replay])).toEqual([
      ['1', true],
      ['2', true]
    ]);
    // The queued input goes only after the re-attach is confirmed, never before.
    expect(third.ofType('terminal.input')).toHaveLength(0);
    third.receive({ type: 'session.attached', sessionId: '1', id: third.ofType('session.attach')[0].id });
    expect(third.ofType('terminal.input')).toEqual([
      { type: 'terminal.input', sessionId: '1', data: 'typed while down\r' }
    ]);
    expect(statuses).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('retries server-initiated closes, 1000 and 1001 included', () => {
    const c = connect();
    c.attach('1', recorder());
    last().open();
    last().drop(1001);
    expect(c.status).toBe('reconnecting');
    timers.runAll();
    last().open();
    last().drop(1000);
    expect(c.status).toBe('reconnecting');
    expect(timers.queue).toHaveLength(1);
  });

  it('gives up after maxAttempts (status closed) and reconnect() starts over', () => {
    const c = connect(2);
    c.attach('1', recorder());
    last().drop();
    timers.runAll();
    last().drop();
    timers.runAll();
    last().drop();
    expect(c.status).toBe('closed');
    expect(timers.queue).toHaveLength(0);
    const n = FakeSocket.all.length;
    c.reconnect();
    expect(FakeSocket.all.length).toBe(n + 1);
    last().open();
    expect(c.status).toBe('connected');
  });

  it('does not reconnect after an intentional dispose', () => {
    const c = connect();
    c.attach('1', recorder());
    last().open();
    c.dispose();
    expect(last().closedWith).toBe(1000);
    expect(c.status).toBe('closed');
    expect(timers.queue).toHaveLength(0);
  });

  it('rejects requests that were in flight when the socket dropped', async () => {
    const c = connect();
    const listing = c.listSessions();
    last().open();
    last().drop();
    await expect(listing).rejects.toBeInstanceOf(TermMuxError);
  });

  it('tells listeners when their session exits and forgets it', () => {
    const c = connect();
    const a = recorder();
    c.attach('1', a);
    last().open();
    last().receive({ type: 'session.exited', sessionId: '1', exitCode: 0 });
    last().receive({ type: 'terminal.output', sessionId: '1', data: 'late' });
    expect(a.log).toEqual(['exited:0']);
    last().drop();
    timers.runAll();
    last().open();
    expect(last().ofType('session.attach')).toHaveLength(0);
  });

  it('drops a session that cannot be attached (e.g. gone after a reload)', () => {
    const c = connect();
    const a = recorder();
    c.attach('old', a);
    last().open();
    last().answer('session.attach', {
      type: 'error',
      code: 'unknown-session',
      message: "no session 'old'",
      sessionId: 'old',
      request: 'session.attach'
    });
    expect(a.log).toEqual(['detached:unknown-session']);
  });

  it('re-attaches after an unsolicited slow detach', () => {
    const c = connect();
    const a = recorder();
    c.attach('1', a);
    last().open();
    last().answer('session.attach', { type: 'session.attached', sessionId: '1' });
    last().receive({ type: 'session.detached', sessionId: '1', reason: 'slow' });
    expect(a.log).toEqual(['attached', 'detached:slow']);
    timers.runAll();
    expect(last().ofType('session.attach')).toHaveLength(2);
  });

  it('sends only frames the server validates', () => {
    // Every frame the fake saw parses as a valid client message.
    const c = connect();
    const ch = c.attach('1', recorder());
    last().open();
    last().answer('session.attach', { type: 'session.attached', sessionId: '1' });
    ch.send('a');
    ch.resize(24, 80);
    void c.ping();
    void c.createSession();
    ch.dispose();
    for (const m of last().sent) {
      expect(() => validateClientMessage(m)).not.toThrow();
    }
  });
});
