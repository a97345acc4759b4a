/**
 * The page's single termmux connection (ITermMuxConnection): wires the
 * socket and its reconnects (socket.ts), the protocol negotiation
 * (handshake.ts), requests matched by id with a deadline (requests.ts,
 * sessionRequests.ts), attaching (attacher.ts) and what the server sends on
 * its own (inbound.ts), and routes each frame to one of them.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { Attacher } from './attacher';
import { IBackoffOptions } from './backoff';
import { SessionChannel } from './channel';
import { IMuxCore } from './core';
import { sendConfirmed } from './confirm';
import { CreditCounter } from './credit';
import { decodeServerMessage, undecodedRequestId } from '../protocol/decode';
import { TermMuxError } from '../protocol/errors';
import { Handshake } from './handshake';
import { Inbound } from './inbound';
import {
  AttachMode,
  ClientMessage,
  CloseCode,
  encodeClientMessage,
  IProfileInfo,
  ISessionInfo,
  ServerMessage,
  SUBPROTOCOL_V2
} from '../protocol/protocol';
import { DEFAULT_REQUEST_TIMEOUT_MS, RequestTable } from './requests';
import * as api from './sessionRequests';
import { SessionTable } from './sessions';
import { IWebSocketConstructor, ReconnectingSocket } from './socket';
import { ITimers, realTimers } from './timers';
import {
  ConnectionStatus,
  ICreateOptions,
  IProtocolInfo,
  IResumePoint,
  ISessionChannel,
  ISessionListener,
  ITermMuxConnection
} from '../tokens';

export interface IMultiplexerOptions {
  /** Full WebSocket URL, token included when needed. */
  url: string | (() => string);
  WebSocket: IWebSocketConstructor;
  backoff?: IBackoffOptions;
  random?: () => number;
  timers?: ITimers;
  /** How long a request (and the v2 `hello`) may wait for its answer. */
  requestTimeoutMs?: number;
  /** Delay before re-attaching a session the server detached as slow (v1). */
  slowReattachMs?: number;
  /** Offer `termmux.v2` (default true). */
  offerV2?: boolean;
}

export class SessionMultiplexer implements ITermMuxConnection, IMuxCore {
  constructor(options: IMultiplexerOptions) {
    this.timers = options.timers ?? realTimers;
    const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.requests = new RequestTable(this.timers, timeoutMs);
    this._handshake = new Handshake({
      timers: this.timers,
      timeoutMs,
      send: msg => this.send(msg),
      reportFailure: err => this.reportFailure(err),
      dropSocket: reason => this.dropSocket(reason),
      begin: info => this._begin(info)
    });
    this._socket = new ReconnectingSocket({
      url: options.url,
      WebSocket: options.WebSocket,
      protocols: options.offerV2 === false ? [] : [SUBPROTOCOL_V2],
      backoff: options.backoff,
      random: options.random,
      timers: this.timers,
      handler: {
        onOpen: protocol => this._handshake.opened(protocol),
        onMessage: data => this._onMessage(data),
        onClose: code => this._onClose(code)
      }
    });
    this._socket.statusChanged.connect((_, s) => this._statusChanged.emit(s));
    this._attacher = new Attacher(this, frame => this._socket.send(frame));
    this._inbound = new Inbound(
      this,
      this._attacher,
      options.slowReattachMs ?? 1000
    );
  }

  readonly table = new SessionTable();
  readonly requests: RequestTable;
  readonly timers: ITimers;

  get status(): ConnectionStatus {
    return this._socket.status;
  }
  get statusChanged(): ISignal<ITermMuxConnection, ConnectionStatus> {
    return this._statusChanged;
  }
  get protocol(): IProtocolInfo | null {
    return this._handshake.protocol;
  }
  get protocolChanged(): ISignal<ITermMuxConnection, IProtocolInfo | null> {
    return this._protocolChanged;
  }
  get sessionsChanged(): ISignal<ITermMuxConnection, void> {
    return this._sessionsChanged;
  }
  /** Emitted when something failed that no request's caller will show. */
  get failed(): ISignal<ITermMuxConnection, Error> {
    return this._failed;
  }
  get ready(): boolean {
    return this._handshake.ready;
  }
  get credit(): CreditCounter | null {
    return this._handshake.credit;
  }
  /** Number of WebSockets opened so far (diagnostics and tests). */
  get socketCount(): number {
    return this._socket.socketCount;
  }
  get isDisposed(): boolean {
    return this._socket.isDisposed;
  }

  async createSession(options: ICreateOptions = {}): Promise<string> {
    const sessionId = await api.createSession(this._request, options);
    this._sessionsChanged.emit();
    return sessionId;
  }

  async closeSession(sessionId: string): Promise<void> {
    await api.closeSession(this._request, sessionId);
    this._sessionsChanged.emit();
  }

  listSessions(): Promise<ISessionInfo[]> {
    return api.listSessions(this._request);
  }

  listProfiles(): Promise<IProfileInfo[]> {
    return api.listProfiles(this._request);
  }

  async ping(): Promise<void> {
    await this._request('Ping', { type: 'ping' });
  }

  sendInputChecked(sessionId: string, data: string): Promise<boolean> {
    return sendConfirmed(this, sessionId, data, () => this.ping());
  }

  attach(
    sessionId: string,
    listener: ISessionListener,
    resume: IResumePoint | null = null,
    mode: AttachMode = 'write'
  ): ISessionChannel {
    this._socket.ensureOpen();
    const { record, first } = this.table.add(sessionId, listener);
    if (first) {
      record.mode = mode;
      // A new tab draws from the replay; the incarnation tells a new shell.
      record.incarnation = resume?.incarnation ?? null;
      this._attacher.attach(record);
    } else {
      // Already shown by another tab: the newcomer needs the screen too.
      this._attacher.join(record, listener);
    }
    return new SessionChannel(sessionId, listener, this._attacher, mode);
  }

  reconnect(): void {
    this._socket.reconnect();
  }

  /** Close the socket for good (intentional: no reconnect). */
  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._socket.dispose();
    this.requests.failAll(new TermMuxError('disposed', 'connection disposed'));
    Signal.clearData(this);
  }

  send(msg: ClientMessage): void {
    if (this.ready) {
      this._socket.send(encodeClientMessage(msg));
    }
  }

  dropSocket(reason: string): void {
    this._socket.drop(CloseCode.Unresponsive, reason);
  }

  reportFailure(err: Error): void {
    this._failed.emit(err);
  }

  notifySessionsChanged(): void {
    this._sessionsChanged.emit();
  }

  /** The socket is ready: re-attach every session, then send the requests made meanwhile. */
  private _begin(info: IProtocolInfo): void {
    this._socket.markReady();
    this._protocolChanged.emit(info);
    // Re-attach first, so queued input (sent after each `session.attached`) lands.
    for (const record of this.table.records()) {
      this._attacher.attach(record);
    }
    for (const frame of this.requests.takeQueued()) {
      this._socket.send(frame);
    }
  }

  private _onClose(code: number): void {
    this._handshake.closed();
    this.table.resetAll();
    // Requests already sent got no answer and will not: their outcome is unknown.
    const lost = new TermMuxError(
      'connection-lost',
      `connection lost (close code ${code})`
    );
    this.requests.failSent(lost);
  }

  private _onMessage(data: unknown): void {
    if (typeof data === 'string') {
      this._onText(data);
    } else if (data instanceof ArrayBuffer) {
      this._inbound.onBinary(data);
    }
  }

  private _onText(frame: string): void {
    const msg = decodeServerMessage(frame);
    if (msg === null) {
      console.warn('termmux: invalid server frame', frame.slice(0, 200));
      const err = new TermMuxError('invalid-answer', 'invalid server answer');
      this.requests.fail(undecodedRequestId(frame), err);
    } else if (
      !this._handshake.take(msg) &&
      !this._inbound.handle(msg) &&
      'id' in msg
    ) {
      this.requests.settle(msg.id, msg);
    }
  }

  /** Send a request now if ready, else once the socket is; resolves to its answer. */
  private readonly _request = (
    what: string,
    msg: ClientMessage
  ): Promise<ServerMessage> => {
    this._socket.ensureOpen();
    return new Promise<ServerMessage>((resolve, reject) => {
      if (this.isDisposed) {
        reject(new TermMuxError('disposed', 'connection disposed'));
        return;
      }
      const id = this.requests.add(what, { resolve, reject });
      const frame = encodeClientMessage({ ...msg, id });
      if (this.ready) {
        this._socket.send(frame);
      } else {
        this.requests.enqueue(id, frame);
      }
    });
  };

  private readonly _socket: ReconnectingSocket;
  private readonly _attacher: Attacher;
  private readonly _inbound: Inbound;
  private readonly _handshake: Handshake;
  private _statusChanged = new Signal<ITermMuxConnection, ConnectionStatus>(
    this
  );
  private _protocolChanged = new Signal<
    ITermMuxConnection,
    IProtocolInfo | null
  >(this);
  private _sessionsChanged = new Signal<ITermMuxConnection, void>(this);
  private _failed = new Signal<ITermMuxConnection, Error>(this);
}
