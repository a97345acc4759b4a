/**
 * A WebSocket that reconnects: randomized exponential backoff, a visible
 * status, the subprotocol offer, and nothing else (what the frames mean is
 * the multiplexer's business). The WebSocket class and the timers are
 * injected so the state machine is unit-tested without a browser.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { backoffDelay, DEFAULT_BACKOFF, IBackoffOptions } from './backoff';
import { CloseCode } from '../protocol/protocol';
import { ITimers, realTimers } from './timers';
import { ConnectionStatus } from '../tokens';

/** The subset of the browser WebSocket used here (so tests can inject a fake). */
export interface IWebSocketLike {
  readonly readyState: number;
  /** The subprotocol the server selected ('' for none). */
  readonly protocol: string;
  binaryType: string;
  onopen: ((ev: unknown) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export interface IWebSocketConstructor {
  new (url: string, protocols?: string | string[]): IWebSocketLike;
}

/** WebSocket.OPEN, spelled out so no global WebSocket is needed in tests. */
const OPEN = 1;

/** What the socket reports to its owner. */
export interface ISocketHandler {
  /** A socket opened; `protocol` is the selected subprotocol ('' for none). */
  onOpen(protocol: string): void;
  /** A frame arrived: a string (text) or an ArrayBuffer (binary). */
  onMessage(data: unknown): void;
  /** The socket closed (a reconnect is scheduled unless disposed or given up). */
  onClose(code: number): void;
}

export interface ISocketOptions {
  /** Full WebSocket URL, token included when needed. */
  url: string | (() => string);
  WebSocket: IWebSocketConstructor;
  handler: ISocketHandler;
  /**
   * Subprotocols offered. A socket that fails before opening while offering
   * them is retried at once offering none: browsers fail the handshake when a
   * proxy drops the server's Sec-WebSocket-Protocol answer (jupyter_server#1310),
   * so a stripped answer must not cost the connection.
   */
  protocols?: string[];
  backoff?: IBackoffOptions;
  random?: () => number;
  timers?: ITimers;
}

export class ReconnectingSocket {
  constructor(options: ISocketOptions) {
    this._options = options;
    this._backoff = options.backoff ?? DEFAULT_BACKOFF;
    this._timers = options.timers ?? realTimers;
  }

  get status(): ConnectionStatus {
    return this._status;
  }

  get statusChanged(): ISignal<this, ConnectionStatus> {
    return this._statusChanged;
  }

  /** Whether a socket is open (frames can be sent). */
  get isOpen(): boolean {
    return this._ws !== null && this._ws.readyState === OPEN;
  }

  /** Number of WebSockets opened so far (diagnostics and tests). */
  get socketCount(): number {
    return this._socketCount;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Open a socket unless one is open, pending, scheduled, or we gave up. */
  ensureOpen(): void {
    const idle = this._ws === null && this._timer === null;
    if (!this._disposed && idle && !this._gaveUp) {
      this._open();
    }
  }

  /** The owner finished its handshake: the connection is usable. */
  markReady(): void {
    this._attempt = 0;
    this._everConnected = true;
    this._setStatus('connected');
  }

  /** Send a frame; false (nothing sent) when no socket is open. */
  send(data: string): boolean {
    if (!this.isOpen) {
      return false;
    }
    this._ws!.send(data);
    return true;
  }

  /** Close the current socket (e.g. unresponsive server); a reconnect follows. */
  drop(code: number, reason: string): void {
    const ws = this._ws;
    if (ws !== null) {
      ws.close(code, reason);
      this._onClose(ws, code);
    }
  }

  /** Reconnect now: after giving up, or to skip a backoff wait. */
  reconnect(): void {
    if (this._disposed) {
      return;
    }
    this._attempt = 0;
    this._gaveUp = false;
    this._clearTimer();
    if (this._ws === null) {
      this._open();
    }
  }

  /** Close for good (intentional: no reconnect). */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._clearTimer();
    const ws = this._ws;
    this._ws = null;
    if (ws !== null) {
      ws.onclose = ws.onmessage = ws.onopen = ws.onerror = null;
      ws.close(CloseCode.Normal, 'disposed');
    }
    this._setStatus('closed');
    Signal.clearData(this);
  }

  private _open(): void {
    this._gaveUp = false;
    this._setStatus(this._everConnected ? 'reconnecting' : 'connecting');
    const { url } = this._options;
    const protocols = this._fallback ? [] : (this._options.protocols ?? []);
    const ws = new this._options.WebSocket(
      typeof url === 'function' ? url() : url,
      protocols
    );
    this._offered = protocols.length > 0;
    this._opened = false;
    // v2 output arrives as binary frames; an ArrayBuffer is read without a copy.
    ws.binaryType = 'arraybuffer';
    this._socketCount++;
    this._ws = ws;
    ws.onopen = () => {
      if (ws === this._ws) {
        this._opened = true;
        this._options.handler.onOpen(ws.protocol ?? '');
      }
    };
    ws.onmessage = ev => {
      if (ws === this._ws) {
        this._options.handler.onMessage(ev.data);
      }
    };
    ws.onclose = ev => this._onClose(ws, ev.code);
    // A close event always follows an error; reconnecting happens there.
    ws.onerror = () => undefined;
  }

  private _onClose(ws: IWebSocketLike, code: number): void {
    if (ws !== this._ws) {
      return;
    }
    this._ws = null;
    ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    this._options.handler.onClose(code);
    if (this._disposed) {
      this._setStatus('closed');
      return;
    }
    if (!this._opened && this._offered) {
      // Maybe a proxy dropped the subprotocol answer: try at once offering none.
      this._fallback = true;
      this._open();
      return;
    }
    // Offer the subprotocol again next time (a server restart may bring v2).
    this._fallback = false;
    // Server closes (1000/1001 included, e.g. a restart) and drops (1006) are
    // all retried: only our own dispose() is final.
    this._schedule();
  }

  private _schedule(): void {
    if (this._attempt >= this._backoff.maxAttempts) {
      this._gaveUp = true;
      this._setStatus('closed');
      return;
    }
    const random = this._options.random ?? Math.random;
    const delay = backoffDelay(this._attempt, this._backoff, random);
    this._attempt++;
    this._setStatus(this._everConnected ? 'reconnecting' : 'connecting');
    this._timer = this._timers.setTimeout(() => {
      this._timer = null;
      if (!this._disposed && this._ws === null) {
        this._open();
      }
    }, delay);
  }

  private _clearTimer(): void {
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _setStatus(status: ConnectionStatus): void {
    if (status !== this._status) {
      this._status = status;
      this._statusChanged.emit(status);
    }
  }

  private readonly _options: ISocketOptions;
  private readonly _backoff: IBackoffOptions;
  private readonly _timers: ITimers;
  private _ws: IWebSocketLike | null = null;
  private _status: ConnectionStatus = 'connecting';
  private _statusChanged = new Signal<this, ConnectionStatus>(this);
  private _timer: unknown = null;
  private _attempt = 0;
  private _everConnected = false;
  private _gaveUp = false;
  private _disposed = false;
  private _socketCount = 0;
  /** The current socket offered subprotocols / has opened. */
  private _offered = false;
  private _opened = false;
  /** The next socket offers no subprotocol (the last offer failed to open). */
  private _fallback = false;
}
