/**
 * Requests awaiting their answer, matched by `id`. Every request has a
 * deadline: a server that never answers must not leave a button spinning.
 */
import { TermMuxError } from '../protocol/errors';
import { ServerMessage } from '../protocol/protocol';
import { ITimers } from './timers';

/** Default time a request may wait for its answer. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface IPending {
  resolve(msg: ServerMessage): void;
  reject(err: Error): void;
}

export class RequestTable {
  constructor(timers: ITimers, timeoutMs: number = DEFAULT_REQUEST_TIMEOUT_MS) {
    this._timers = timers;
    this._timeoutMs = timeoutMs;
  }

  /** Number of requests awaiting an answer. */
  get size(): number {
    return this._entries.size;
  }

  /** Register a request; returns its id. On timeout it is rejected with code `timeout`. */
  add(what: string, pending: IPending): number {
    const id = ++this._nextId;
    const timer = this._timers.setTimeout(() => {
      if (this._entries.delete(id)) {
        const seconds = Math.round(this._timeoutMs / 100) / 10;
        pending.reject(
          new TermMuxError(
            'timeout',
            `${what}: no answer from the server in ${seconds} s`
          )
        );
      }
    }, this._timeoutMs);
    this._entries.set(id, { pending, timer });
    return id;
  }

  /** Settle request `id` with its answer (an `error` frame rejects); false when unknown. */
  settle(id: unknown, msg: ServerMessage): boolean {
    const entry = typeof id === 'number' ? this._entries.get(id) : undefined;
    if (entry === undefined) {
      return false;
    }
    this._entries.delete(id as number);
    this._timers.clearTimeout(entry.timer);
    if (msg.type === 'error') {
      entry.pending.reject(
        new TermMuxError(msg.code, msg.message, msg.sessionId)
      );
    } else {
      entry.pending.resolve(msg);
    }
    return true;
  }

  /** Reject request `id` (e.g. its answer did not decode); false when unknown. */
  fail(id: unknown, err: Error): boolean {
    const entry = typeof id === 'number' ? this._entries.get(id) : undefined;
    if (entry === undefined) {
      return false;
    }
    this._entries.delete(id as number);
    this._timers.clearTimeout(entry.timer);
    entry.pending.reject(err);
    return true;
  }

  /** Hold request `id`'s frame until a socket is ready (its deadline runs already). */
  enqueue(id: number, frame: string): void {
    this._queued.set(id, frame);
  }

  /** The held frames of requests still waiting, in order; the queue empties. */
  takeQueued(): string[] {
    const frames = [...this._queued]
      .filter(([id]) => this._entries.has(id))
      .map(([, frame]) => frame);
    this._queued.clear();
    return frames;
  }

  /** Reject every request, sent or not (the connection is disposed). */
  failAll(err: Error): void {
    this._queued.clear();
    this.failSent(err);
  }

  /** Reject every request sent (the socket closed: their outcome is unknown). */
  failSent(err: Error): void {
    for (const [id, entry] of [...this._entries]) {
      if (!this._queued.has(id)) {
        this._entries.delete(id);
        this._timers.clearTimeout(entry.timer);
        entry.pending.reject(err);
      }
    }
  }

  private readonly _timers: ITimers;
  private readonly _timeoutMs: number;
  private readonly _queued = new Map<number, string>();
  private readonly _entries = new Map<
    number,
    { pending: IPending; timer: unknown }
  >();
  private _nextId = 0;
}

/** The answer if it has the expected type, else an `invalid-answer` error. */
export function expectAnswer<T extends ServerMessage['type']>(
  reply: ServerMessage,
  type: T
): Extract<ServerMessage, { type: T }> {
  if (reply.type !== type) {
    const text = `expected ${type}, got ${reply.type}`;
    throw new TermMuxError('invalid-answer', text);
  }
  return reply as Extract<ServerMessage, { type: T }>;
}
