/**
 * The page's single termmux WebSocket: request/answer correlation by `id`,
 * output routed by `sessionId`, reconnect with randomized exponential backoff,
 * re-attach (with replay) of every open session after a reconnect, and input
 * queued while not attached so that nothing typed during a drop is lost.
 *
 * The WebSocket class and the timers are injected so the state machine is
 * unit-tested without a browser (see connection.spec.ts).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { backoffDelay, DEFAULT_BACKOFF, IBackoffOptions } from './backoff';
import {
  ClientMessage,
  CloseCode,
  decodeServerMessage,
  encodeClientMessage,
  IErrorMessage,
  ISessionInfo,
  RequestId,
  ServerMessage
} from './protocol';
import { ISessionListener, SessionRouter } from './router';

/** Visible state of the page's connection. */
export type ConnectionStatus = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** The subset of the browser WebSocket used here (so tests can inject a fake). */
export interface IWebSocketLike {
  readonly readyState: number;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface IWebSocketConstructor {
  new (url: string): IWebSocketLike;
}

/** WebSocket.OPEN, spelled out so no global WebSocket is needed in tests. */
const OPEN = 1;

/** Timers, injectable for deterministic tests. */
export interface ITimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realTimers: ITimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

/** A refusal answered by the server with an `error` frame. */
export class TermMuxError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly sessionId?: string
  ) {
    super(message);
    this.name = 'TermMuxError';
  }
}

/** One tab's handle on a session: send input and sizes, then dispose to detach. */
export interface ISessionChannel {
  readonly sessionId: string;
  readonly isDisposed: boolean;
  /** Send keystrokes; queued while the session is not (re-)attached. */
  send(data: string): void;
  /** Report this tab's size; the latest one is (re-)sent after each attach. */
  resize(rows: number, cols: number): void;
  /** Stop listening; the last listener of a session detaches it (PTY keeps running). */
  dispose(): void;
}

/** The connection service shared by every termmux tab of the page. */
/** Options of a new session: where it starts and at what size. */
export interface ICreateOptions {
  cwd?: string;
  sessionId?: string;
  rows?: number;
  cols?: number;
}

export interface ITermMuxConnection {
  readonly status: ConnectionStatus;
  readonly statusChanged: ISignal<ITermMuxConnection, ConnectionStatus>;
  /** Emitted when this page created, closed or saw the exit of a session. */
  readonly sessionsChanged: ISignal<ITermMuxConnection, void>;
  /** Start a new terminal (not attached); resolves to its session id. */
  createSession(options?: ICreateOptions): Promise<string>;
  /** Terminate a terminal. */
  closeSession(sessionId: string): Promise<void>;
  /** The server's terminals. */
  listSessions(): Promise<ISessionInfo[]>;
  /** Round trip to the server. */
  ping(): Promise<void>;
  /** Listen to a session (attaching it on the socket when first). */
  attach(sessionId: string, listener: ISessionListener): ISessionChannel;
  /** Reconnect now (after giving up, or to skip a backoff wait). */
  reconnect(): void;
}

export interface IConnectionOptions {
  /** Full WebSocket URL, token included when needed. */
  url: string | (() => string);
  WebSocket: IWebSocketConstructor;
  backoff?: IBackoffOptions;
  random?: () => number;
  timers?: ITimers;
  /** Delay before re-attaching a session the server detached as slow. */
  slowReattachMs?: number;
}

interface IPendingRequest {
  resolve(msg: ServerMessage): void;
  reject(err: Error): void;
}

type AttachState = 'detached' | 'attaching' | 'attached';

export class TermMuxConnection implements ITermMuxConnection {
  constructor(options: IConnectionOptions) {
    this._url = options.url;
    this._WebSocket = options.WebSocket;
    this._backoff = options.backoff ?? DEFAULT_BACKOFF;
    this._random = options.random ?? Math.random;
    this._timers = options.timers ?? realTimers;
    this._slowReattachMs = options.slowReattachMs ?? 1000;
  }

  get status(): ConnectionStatus {
    return this._status;
  }

  get statusChanged(): ISignal<ITermMuxConnection, ConnectionStatus> {
    return this._statusChanged;
  }

  get sessionsChanged(): ISignal<ITermMuxConnection, void> {
    return this._sessionsChanged;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Number of WebSockets this connection has opened (diagnostics and tests). */
  get socketCount(): number {
    return this._socketCount;
  }

  async createSession(options: ICreateOptions = {}): Promise<string> {
    const msg: ClientMessage = { type: 'session.create' };
    if (options.cwd !== undefined) {
      msg.cwd = options.cwd;
    }
    if (options.sessionId !== undefined) {
      msg.sessionId = options.sessionId;
    }
    if (options.rows !== undefined && options.cols !== undefined) {
      msg.rows = options.rows;
      msg.cols = options.cols;
    }
    const reply = await this._request(msg);
    if (reply.type !== 'session.created') {
      throw new TermMuxError('internal-error', `unexpected answer ${reply.type}`);
    }
    this._sessionsChanged.emit();
    return reply.sessionId;
  }

  async closeSession(sessionId: string): Promise<void> {
    await this._request({ type: 'session.close', sessionId });
    this._sessionsChanged.emit();
  }

  async listSessions(): Promise<ISessionInfo[]> {
    const reply = await this._request({ type: 'session.list' });
    if (reply.type !== 'session.list') {
      throw new TermMuxError('internal-error', `unexpected answer ${reply.type}`);
    }
    return reply.sessions;
  }

  async ping(): Promise<void> {
    await this._request({ type: 'ping' });
  }

  attach(sessionId: string, listener: ISessionListener): ISessionChannel {
    this._ensureSocket();
    if (this._router.add(sessionId, listener)) {
      this._attachState.set(sessionId, 'detached');
      this._sendAttach(sessionId);
    } else if (this._attachState.get(sessionId) === 'attached') {
      // Already attached for another tab: tell the newcomer at once.
      listener.onAttached();
    }
    const channel: ISessionChannel = {
      sessionId,
      isDisposed: false,
      send: (data: string) => {
        if (!channel.isDisposed) {
          this._sendInput(sessionId, data);
        }
      },
      resize: (rows: number, cols: number) => {
        if (!channel.isDisposed) {
          this._sendResize(sessionId, rows, cols);
        }
      },
      dispose: () => {
        if (channel.isDisposed) {
          return;
        }
        (channel as { isDisposed: boolean }).isDisposed = true;
        if (this._router.remove(sessionId, listener)) {
          this._forget(sessionId);
          this._sendNow({ type: 'session.detach', sessionId });
        }
      }
    };
    return channel;
  }

  reconnect(): void {
    if (this._disposed) {
      return;
    }
    this._attempt = 0;
    if (this._reconnectTimer !== null) {
      this._timers.clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
    }
    if (this._ws === null) {
      this._open();
    }
  }

  /** Close the socket for good (intentional: no reconnect). */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    if (this._reconnectTimer !== null) {
      this._timers.clearTimeout(this._reconnectTimer);
      this._reconnectTimer = null;
    }
    const ws = this._ws;
    this._ws = null;
    if (ws !== null) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.onopen = null;
      ws.onerror = null;
      ws.close(CloseCode.Normal, 'disposed');
    }
    this._failInflight(new Error('connection disposed'));
    for (const pending of this._outbox) {
      pending.reject?.(new Error('connection disposed'));
    }
    this._outbox = [];
    this._setStatus('closed');
    Signal.clearData(this);
  }

  // ---------------------------------------------------------------- socket

  private _ensureSocket(): void {
    if (!this._disposed && this._ws === null && this._reconnectTimer === null && !this._gaveUp) {
      this._open();
    }
  }

  private _open(): void {
    this._gaveUp = false;
    this._setStatus(this._everConnected ? 'reconnecting' : 'connecting');
    const url = typeof this._url === 'function' ? this._url() : this._url;
    const ws = new this._WebSocket(url);
    this._socketCount++;
    this._ws = ws;
    ws.onopen = () => this._onOpen(ws);
    ws.onmessage = ev => this._onMessage(ev.data);
    ws.onclose = ev => this._onClose(ws, ev.code);
    ws.onerror = () => {
      // A close event always follows; reconnecting happens there.
    };
  }

  private _onOpen(ws: IWebSocketLike): void {
    if (ws !== this._ws) {
      return;
    }
    this._attempt = 0;
    this._everConnected = true;
    this._setStatus('connected');
    // Re-attach first, so queued input (sent after each `session.attached`) lands.
    for (const sessionId of this._router.sessions()) {
      this._attachState.set(sessionId, 'detached');
      this._sendAttach(sessionId);
    }
    const outbox = this._outbox;
    this._outbox = [];
    for (const item of outbox) {
      this._transmit(item.msg, item);
    }
  }

  private _onClose(ws: IWebSocketLike, code: number): void {
    if (ws !== this._ws) {
      return;
    }
    this._ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    // Requests already sent got no answer and will not: their outcome is unknown.
    this._failInflight(new TermMuxError('connection-lost', `connection lost (close code ${code})`));
    for (const sessionId of this._router.sessions()) {
      this._attachState.set(sessionId, 'detached');
    }
    if (this._disposed) {
      this._setStatus('closed');
      return;
    }
    // Server-initiated closes (1000/1001 included, e.g. a server restart) and
    // drops (1006) are all retried: only our own dispose() is intentional.
    this._scheduleReconnect();
  }

  private _scheduleReconnect(): void {
    if (this._attempt >= this._backoff.maxAttempts) {
      this._gaveUp = true;
      this._setStatus('closed');
      return;
    }
    const delay = backoffDelay(this._attempt, this._backoff, this._random);
    this._attempt++;
    this._setStatus(this._everConnected ? 'reconnecting' : 'connecting');
    this._reconnectTimer = this._timers.setTimeout(() => {
      this._reconnectTimer = null;
      if (!this._disposed && this._ws === null) {
        this._open();
      }
    }, delay);
  }

  private _setStatus(status: ConnectionStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
  }

  // ---------------------------------------------------------------- sending

  private _isOpen(): boolean {
    return this._ws !== null && this._ws.readyState === OPEN;
  }

  /** Send if open, else drop: for messages whose effect is re-derived on reconnect. */
  private _sendNow(msg: ClientMessage): void {
    if (this._isOpen()) {
      this._ws!.send(encodeClientMessage(msg));
    }
  }

  private _request(msg: ClientMessage): Promise<ServerMessage> {
    this._ensureSocket();
    return new Promise<ServerMessage>((resolve, reject) => {
      if (this._disposed) {
        reject(new Error('connection disposed'));
        return;
      }
      const item = { msg, resolve, reject };
      if (this._isOpen()) {
        this._transmit(msg, item);
      } else {
        this._outbox.push(item);
      }
    });
  }

  private _transmit(msg: ClientMessage, pending: Partial<IPendingRequest>): void {
    const id = ++this._nextId;
    if (pending.resolve && pending.reject) {
      this._inflight.set(id, { resolve: pending.resolve, reject: pending.reject });
    }
    this._ws!.send(encodeClientMessage({ ...msg, id }));
  }

  private _sendAttach(sessionId: string): void {
    if (!this._isOpen() || this._attachState.get(sessionId) !== 'detached') {
      return;
    }
    this._attachState.set(sessionId, 'attaching');
    const id = ++this._nextId;
    this._inflight.set(id, {
      resolve: () => this._onAttached(sessionId),
      reject: err => this._onAttachFailed(sessionId, err)
    });
    this._ws!.send(encodeClientMessage({ type: 'session.attach', sessionId, replay: true, id }));
  }

  private _onAttached(sessionId: string): void {
    if (!this._router.has(sessionId)) {
      return; // detached meanwhile
    }
    this._attachState.set(sessionId, 'attached');
    const size = this._sizes.get(sessionId);
    if (size) {
      this._sendNow({ type: 'terminal.resize', sessionId, ...size });
    }
    const queued = this._inputQueue.get(sessionId);
    this._inputQueue.delete(sessionId);
    if (queued && queued.length > 0) {
      this._sendNow({ type: 'terminal.input', sessionId, data: queued.join('') });
    }
    for (const listener of this._router.listeners(sessionId)) {
      listener.onAttached();
    }
  }

  private _onAttachFailed(sessionId: string, err: Error): void {
    if (err instanceof TermMuxError && err.code === 'connection-lost') {
      return; // re-attached on reconnect
    }
    const listeners = this._router.drop(sessionId);
    this._forget(sessionId);
    for (const listener of listeners) {
      listener.onDetached(err instanceof TermMuxError ? err.code : err.message);
    }
  }

  private _sendInput(sessionId: string, data: string): void {
    if (this._attachState.get(sessionId) === 'attached' && this._isOpen()) {
      this._ws!.send(encodeClientMessage({ type: 'terminal.input', sessionId, data }));
      return;
    }
    if (!this._router.has(sessionId)) {
      return;
    }
    let queue = this._inputQueue.get(sessionId);
    if (!queue) {
      queue = [];
      this._inputQueue.set(sessionId, queue);
    }
    queue.push(data);
  }

  private _sendResize(sessionId: string, rows: number, cols: number): void {
    const previous = this._sizes.get(sessionId);
    this._sizes.set(sessionId, { rows, cols });
    if (previous && previous.rows === rows && previous.cols === cols) {
      return;
    }
    if (this._attachState.get(sessionId) === 'attached') {
      this._sendNow({ type: 'terminal.resize', sessionId, rows, cols });
    }
  }

  private _forget(sessionId: string): void {
    this._attachState.delete(sessionId);
    this._inputQueue.delete(sessionId);
    this._sizes.delete(sessionId);
  }

  private _failInflight(err: Error): void {
    const inflight = [...this._inflight.values()];
    this._inflight.clear();
    for (const pending of inflight) {
      pending.reject(err);
    }
  }

  // ---------------------------------------------------------------- receiving

  private _onMessage(data: unknown): void {
    if (typeof data !== 'string') {
      console.warn('termmux: ignoring a binary frame');
      return;
    }
    const msg = decodeServerMessage(data);
    if (msg === null) {
      console.warn('termmux: ignoring an invalid server frame', data.slice(0, 200));
      return;
    }
    switch (msg.type) {
      case 'terminal.output':
        for (const listener of this._router.listeners(msg.sessionId)) {
          listener.onOutput(msg.data, msg.replay === true);
        }
        return;
      case 'session.exited': {
        const listeners = this._router.drop(msg.sessionId);
        this._forget(msg.sessionId);
        for (const listener of listeners) {
          listener.onExited(msg.exitCode);
        }
        this._sessionsChanged.emit();
        return;
      }
      case 'session.detached':
        if (msg.id === undefined && msg.reason !== undefined) {
          this._onServerDetached(msg.sessionId, msg.reason);
          return;
        }
        break;
      default:
        break;
    }
    if (msg.id !== undefined) {
      this._settle(msg.id, msg);
    } else if (msg.type === 'error') {
      this._onUnsolicitedError(msg);
    }
  }

  private _settle(id: RequestId, msg: ServerMessage): void {
    const pending = typeof id === 'number' ? this._inflight.get(id) : undefined;
    if (pending === undefined || typeof id !== 'number') {
      return;
    }
    this._inflight.delete(id);
    if (msg.type === 'error') {
      pending.reject(new TermMuxError(msg.code, msg.message, msg.sessionId));
    } else {
      pending.resolve(msg);
    }
  }

  private _onUnsolicitedError(msg: IErrorMessage): void {
    console.warn(`termmux: server error ${msg.code}: ${msg.message}`);
    const sessionId = msg.sessionId;
    if (msg.code === 'not-attached' && sessionId !== undefined && this._router.has(sessionId)) {
      // We believed it attached; the server does not: attach again.
      this._attachState.set(sessionId, 'detached');
      this._sendAttach(sessionId);
    }
  }

  private _onServerDetached(sessionId: string, reason: string): void {
    if (!this._router.has(sessionId)) {
      return;
    }
    this._attachState.set(sessionId, 'detached');
    for (const listener of this._router.listeners(sessionId)) {
      listener.onDetached(reason);
    }
    // Dropped for being slow: the replay on re-attach gives a consistent screen.
    this._timers.setTimeout(() => this._sendAttach(sessionId), this._slowReattachMs);
  }

  private readonly _url: string | (() => string);
  private readonly _WebSocket: IWebSocketConstructor;
  private readonly _backoff: IBackoffOptions;
  private readonly _random: () => number;
  private readonly _timers: ITimers;
  private readonly _slowReattachMs: number;
  private readonly _router = new SessionRouter();
  private readonly _attachState = new Map<string, AttachState>();
  private readonly _inputQueue = new Map<string, string[]>();
  private readonly _sizes = new Map<string, { rows: number; cols: number }>();
  private readonly _inflight = new Map<number, IPendingRequest>();
  private _outbox: Array<{ msg: ClientMessage } & Partial<IPendingRequest>> = [];
  private _ws: IWebSocketLike | null = null;
  private _status: ConnectionStatus = 'connecting';
  private _statusChanged = new Signal<ITermMuxConnection, ConnectionStatus>(this);
  private _sessionsChanged = new Signal<ITermMuxConnection, void>(this);
  private _reconnectTimer: unknown = null;
  private _attempt = 0;
  private _everConnected = false;
  private _gaveUp = false;
  private _disposed = false;
  private _nextId = 0;
  private _socketCount = 0;
}
