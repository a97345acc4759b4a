/**
 * Who listens to which session on this page: the single owner of the
 * sessionId → listeners map. Several tabs (in several panels) may show the same
 * session; the server is attached once per socket, and detached only when the
 * last listener leaves. Pure bookkeeping, no I/O.
 */

/** What a tab is told about its session. */
export interface ISessionListener {
  /** PTY output; `replay` is true for the history sent on (re-)attach. */
  onOutput(data: string, replay: boolean): void;
  /** The PTY ended; the server dropped the subscription. */
  onExited(exitCode: number | null): void;
  /** The server confirmed the subscription (also after each reconnect). */
  onAttached(): void;
  /** The server dropped the subscription (`reason` e.g. "slow"), or attaching failed. */
  onDetached(reason: string): void;
}

export class SessionRouter {
  private readonly _listeners = new Map<string, Set<ISessionListener>>();

  /** Add a listener; true when it is the first one for that session (attach needed). */
  add(sessionId: string, listener: ISessionListener): boolean {
    let set = this._listeners.get(sessionId);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this._listeners.set(sessionId, set);
    }
    set.add(listener);
    return first;
  }

  /** Remove a listener; true when it was the last one (detach needed). Idempotent. */
  remove(sessionId: string, listener: ISessionListener): boolean {
    const set = this._listeners.get(sessionId);
    if (set === undefined || !set.delete(listener)) {
      return false;
    }
    if (set.size === 0) {
      this._listeners.delete(sessionId);
      return true;
    }
    return false;
  }

  /** Forget a session entirely (it exited); returns its former listeners. */
  drop(sessionId: string): ISessionListener[] {
    const set = this._listeners.get(sessionId);
    this._listeners.delete(sessionId);
    return set ? [...set] : [];
  }

  /** Listeners of one session (empty when none). */
  listeners(sessionId: string): ISessionListener[] {
    const set = this._listeners.get(sessionId);
    return set ? [...set] : [];
  }

  /** Whether anyone on this page listens to `sessionId`. */
  has(sessionId: string): boolean {
    return this._listeners.has(sessionId);
  }

  /** Every session with at least one listener, to re-attach after a reconnect. */
  sessions(): string[] {
    return [...this._listeners.keys()];
  }
}
