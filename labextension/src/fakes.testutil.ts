/**
 * Test doubles shared by the unit tests: a WebSocket whose server side the
 * test plays, timers run by hand, and a listener that records what a tab
 * would be told. Not part of the built extension (excluded in tsconfig.json).
 */
import { expect } from 'vitest';

import { encodeBinaryFrame, FrameType } from './protocol/binary';
import { messageError } from './declaration.testutil';
import { SessionMultiplexer } from './connection/multiplexer';
import { ITimers } from './connection/timers';
import { AttachMode, IAttachedMessage } from './protocol/protocol';
import {
  IAttachInfo,
  IOutputChunk,
  ISessionChannel,
  ISessionListener
} from './tokens';

/** A frame as the fake socket received it from the client. */
export type Sent = { type: string; id?: number; [key: string]: unknown };

export class FakeSocket {
  static all: FakeSocket[] = [];
  /** What the next socket's server selects ('' = none, as a v1 server or a stripping proxy). */
  static serverProtocol = '';

  readyState = 0;
  protocol = '';
  binaryType = 'blob';
  sent: Sent[] = [];
  closedWith: number | null = null;
  onopen: ((ev: unknown) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;

  constructor(
    readonly url: string,
    readonly protocols?: string | string[]
  ) {
    FakeSocket.all.push(this);
  }

  send(data: string): void {
    expect(this.readyState).toBe(1);
    expect(messageError(JSON.parse(data), 'client'), data).toBeNull();
    this.sent.push(JSON.parse(data));
  }

  close(code = 1000): void {
    this.closedWith = code;
    this.readyState = 3;
  }

  /** The server accepts; it selects `FakeSocket.serverProtocol`. */
  open(): void {
    this.readyState = 1;
    this.protocol = FakeSocket.serverProtocol;
    this.onopen?.({});
  }

  /** The server accepts selecting v2 and says hello. */
  openV2(limits: { [key: string]: number } = { ackBytes: 100 }): void {
    FakeSocket.serverProtocol = 'termmux.v2';
    this.open();
    this.receive({
      type: 'hello',
      protocol: 2,
      server: 'jupyter-termmux',
      version: '0.2.0',
      limits
    });
  }

  drop(code = 1006): void {
    this.readyState = 3;
    this.onclose?.({ code, reason: '' });
  }

  receive(msg: object): void {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }

  /** A v2 binary output frame. */
  frame(
    channel: number,
    offset: number,
    text: string,
    type: FrameType = FrameType.Output
  ): void {
    const payload = new TextEncoder().encode(text);
    const bytes = encodeBinaryFrame({ type, channel, offset, payload });
    this.onmessage?.({ data: bytes.buffer });
  }

  /** Answer the last sent message of `type` with `reply` (its id echoed). */
  answer(type: string, reply: object): void {
    const req = [...this.sent].reverse().find(m => m.type === type);
    expect(req, `no ${type} sent`).toBeDefined();
    this.receive({ ...reply, id: req!.id });
  }

  /**
   * Answer the last `session.attach` as a v2 server: its session on channel
   * 3 of incarnation `inc-A` from offset 0, not truncated, no preamble;
   * `fields` override.
   */
  attached(fields: Partial<IAttachedMessage> = {}): void {
    const req = this.ofType('session.attach').at(-1);
    expect(req, 'no session.attach sent').toBeDefined();
    this.receive({
      type: 'session.attached',
      sessionId: req!.sessionId,
      channel: 3,
      incarnation: 'inc-A',
      offset: 0,
      truncated: false,
      preamble: '',
      ...fields,
      id: req!.id
    });
  }

  ofType(type: string): Sent[] {
    return this.sent.filter(m => m.type === type);
  }
}

/** The socket the client opened last. */
export function lastSocket(): FakeSocket {
  return FakeSocket.all[FakeSocket.all.length - 1];
}

export class FakeTimers implements ITimers {
  queue: Array<{ fn: () => void; ms: number; handle: number }> = [];
  setTimeout(fn: () => void, ms: number): unknown {
    const handle = ++this._next;
    this.queue.push({ fn, ms, handle });
    return handle;
  }
  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter(t => t.handle !== handle);
  }
  /** Run every timer due within `ms` (all when omitted); returns their delays. */
  runAll(ms = Infinity): number[] {
    const due = this.queue.filter(t => t.ms <= ms);
    this.queue = this.queue.filter(t => t.ms > ms);
    due.forEach(t => t.fn());
    return due.map(t => t.ms);
  }
  private _next = 0;
}

/** A listener that records events; output is completed by hand (`complete`). */
export class Recorder implements ISessionListener {
  isVisible = true;
  log: string[] = [];
  pending: IOutputChunk[] = [];
  /** Complete output at once (as a fast terminal would). */
  autoComplete = false;

  onOutput(chunk: IOutputChunk): void {
    const text =
      typeof chunk.data === 'string'
        ? chunk.data
        : new TextDecoder().decode(chunk.data);
    this.log.push(`${chunk.replay ? 'replay' : 'out'}:${text}`);
    if (this.autoComplete) {
      chunk.done();
    } else {
      this.pending.push(chunk);
    }
  }
  onReset(preamble: string): void {
    this.log.push(`reset:${preamble}`);
  }
  onAttached(info: IAttachInfo): void {
    const notes = [
      info.newShell ? 'new-shell' : '',
      info.lostBytes ? `lost=${info.lostBytes}` : ''
    ]
      .filter(Boolean)
      .join(',');
    this.log.push(notes ? `attached(${notes})` : 'attached');
    if (info.rows !== undefined && info.cols !== undefined) {
      this.attachedSize = `${info.rows}x${info.cols}`;
    }
  }
  onExited(exitCode: number | null, signal?: string): void {
    this.log.push(`exited:${exitCode}${signal ? `:${signal}` : ''}`);
  }
  onDetached(reason: string): void {
    this.log.push(`detached:${reason}`);
  }
  onResized(rows: number, cols: number): void {
    this.log.push(`resized:${rows}x${cols}`);
  }
  /** The size the last attach reported, if any. */
  attachedSize: string | null = null;
  /** xterm finished parsing the oldest `n` pending chunks. */
  complete(n = this.pending.length): void {
    for (const chunk of this.pending.splice(0, n)) {
      chunk.done();
    }
  }
}

/**
 * The page's connection as the unit tests drive it: a FakeSocket, the given
 * timers, no jitter and a short backoff.
 */
export function fakeMultiplexer(
  timers: FakeTimers = new FakeTimers()
): SessionMultiplexer {
  return new SessionMultiplexer({
    url: 'ws://host/api/termmux/socket',
    WebSocket: FakeSocket,
    timers,
    random: () => 0,
    backoff: { baseMs: 100, maxMs: 1000, maxAttempts: 5 }
  });
}

/** How `attachOnV2` brings a session up. */
export interface IAttachOnV2 {
  /** Default '1'. */
  sessionId?: string;
  mode?: AttachMode;
  /** The hello's limits (`FakeSocket.openV2`). */
  limits?: { [key: string]: number };
  /** Fields of the answer (`FakeSocket.attached`). */
  answer?: Partial<IAttachedMessage>;
}

/**
 * Attach `listener` on a connection whose socket has not opened yet, open it
 * on v2 and answer the attach: the set-up of the v2 connection specs.
 */
export function attachOnV2(
  c: SessionMultiplexer,
  listener: ISessionListener,
  options: IAttachOnV2 = {}
): ISessionChannel {
  const channel = c.attach(
    options.sessionId ?? '1',
    listener,
    null,
    options.mode ?? 'write'
  );
  lastSocket().openV2(options.limits);
  lastSocket().attached(options.answer);
  return channel;
}
