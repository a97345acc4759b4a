/**
 * The page's single termmux connection (ITermMuxConnection): protocol
 * negotiation (v2 `hello`, else v1), requests matched by id with a deadline,
 * session channels, input and sizes queued until attached. The socket and
 * its reconnects are socket.ts; attaching is attacher.ts; what the server
 * sends on its own is inbound.ts.
 */
import { ISignal, Signal } from '@lumino/signaling';

import { Attacher, createMessage } from './attacher';
import { IBackoffOptions } from './backoff';
import { SessionChannel } from './channel';
import { IMuxCore } from './core';
import { sendConfirmed } from './confirm';
import { CreditCounter, DEFAULT_ACK_BYTES } from './credit';
import { decodeServerMessage, undecodedRequestId } from './decode';
import { TermMuxError } from './errors';
import { Inbound } from './inbound';
import {
  AttachMode,
  ClientMessage,
  CloseCode,
  encodeClientMessage,
  IHelloMessage,
  IProfileInfo,
  ISessionInfo,
  ServerMessage,
  SUBPROTOCOL_V2
} from './protocol';
import {
  DEFAULT_REQUEST_TIMEOUT_MS,
  expectAnswer,
  RequestTable
} from './requests';
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
} from './tokens';

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
    this._timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.requests = new RequestTable(this.timers, this._timeoutMs);
    this._socket = new ReconnectingSocket({
      url: options.url,
      WebSocket: options.WebSocket,
      protocols: options.offerV2 === false ? [] : [SUBPROTOCOL_V2],
      backoff: options.backoff,
      random: options.random,
      timers: this.timers,
      handler: {
        onOpen: protocol => this._onOpen(protocol),
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
    return this._protocol;
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
    return this._ready;
  }
  get credit(): CreditCounter | null {
    return this._credit;
  }
  /** Number of WebSockets opened so far (diagnostics and tests). */
  get socketCount(): number {
    return this._socket.socketCount;
  }
  get isDisposed(): boolean {
    return this._socket.isDisposed;
  }

  async createSession(options: ICreateOptions = {}): Promise<string> {
    const msg = createMessage(options);
    const reply = await this._request('Starting a terminal', msg);
    const sessionId = expectAnswer(reply, 'session.created').sessionId;
    this._sessionsChanged.emit();
    return sessionId;
  }

  async closeSession(sessionId: string): Promise<void> {
    const what = `Shutting down terminal ${sessionId}`;
    await this._request(what, { type: 'session.close', sessionId });
    this._sessionsChanged.emit();
  }

  async listSessions(): Promise<ISessionInfo[]> {
    const msg: ClientMessage = { type: 'session.list' };
    const reply = await this._request('Listing terminals', msg);
    return expectAnswer(reply, 'session.list').sessions;
  }

  async listProfiles(): Promise<IProfileInfo[]> {
    const msg: ClientMessage = { type: 'profile.list' };
    const reply = await this._request('Listing shell profiles', msg);
    return expectAnswer(reply, 'profile.list').profiles;
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
      record.offset = resume?.offset ?? null;
      record.incarnation = resume?.incarnation ?? null;
      this._attacher.attach(record);
    } else if (record.state === 'attached') {
      // Already attached for another tab: tell the newcomer at once.
      listener.onAttached(record.joinInfo());
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
    if (this._ready) {
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

  private _onOpen(protocol: string): void {
    if (protocol !== SUBPROTOCOL_V2) {
      // No subprotocol selected: a v1 server, or a proxy that stripped it.
      this._begin({ version: 1 });
      return;
    }
    // v2: nothing is sent before the server's `hello`.
    this._helloTimer = this.timers.setTimeout(() => {
      this._helloTimer = null;
      const text = 'the server selected termmux.v2 but sent no hello';
      this.reportFailure(new TermMuxError('timeout', text));
      this.dropSocket('no hello');
    }, this._timeoutMs);
  }

  private _onHello(msg: IHelloMessage, negotiated = true): void {
    this._clearHelloTimer();
    this._begin({
      version: 2,
      server: msg.server,
      serverVersion: msg.version,
      limits: msg.limits,
      negotiated,
      access: msg.access,
      viewers: msg.viewers,
      boot: msg.boot
    });
  }

  private _begin(info: IProtocolInfo): void {
    this._protocol = info;
    this._ready = true;
    this._credit =
      info.version === 2
        ? new CreditCounter(
            info.limits?.ackBytes ?? DEFAULT_ACK_BYTES,
            (channel, bytes) => this.send({ type: 'ack', channel, bytes })
          )
        : null;
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
    this._ready = false;
    this._clearHelloTimer();
    this._credit?.close();
    this._credit = null;
    this.table.resetAll();
    // Requests already sent got no answer and will not: their outcome is unknown.
    const lost = new TermMuxError(
      'connection-lost',
      `connection lost (close code ${code})`
    );
    this.requests.failSent(lost);
  }

  private _clearHelloTimer(): void {
    if (this._helloTimer !== null) {
      this.timers.clearTimeout(this._helloTimer);
      this._helloTimer = null;
    }
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
    } else if (this._helloTimer !== null) {
      if (msg.type === 'hello') {
        this._onHello(msg);
      }
    } else if (msg.type === 'hello') {
      // v2 although no subprotocol was seen: a proxy dropped the answer header
      // (jupyter_server#1310) and this client opened anyway (Chromium does not).
      if (this._protocol?.version === 1) {
        this._onHello(msg, false);
      }
    } else if (!this._inbound.handle(msg) && 'id' in msg) {
      this.requests.settle(msg.id, msg);
    }
  }

  private _request(what: string, msg: ClientMessage): Promise<ServerMessage> {
    this._socket.ensureOpen();
    return new Promise<ServerMessage>((resolve, reject) => {
      if (this.isDisposed) {
        reject(new TermMuxError('disposed', 'connection disposed'));
        return;
      }
      const id = this.requests.add(what, { resolve, reject });
      const frame = encodeClientMessage({ ...msg, id });
      if (this._ready) {
        this._socket.send(frame);
      } else {
        this.requests.enqueue(id, frame);
      }
    });
  }

  private readonly _timeoutMs: number;
  private readonly _socket: ReconnectingSocket;
  private readonly _attacher: Attacher;
  private readonly _inbound: Inbound;
  private _ready = false;
  private _helloTimer: unknown = null;
  private _credit: CreditCounter | null = null;
  private _protocol: IProtocolInfo | null = null;
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
