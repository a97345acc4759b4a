/**
 * Which protocol a socket speaks: v1 when the server selected no
 * subprotocol, v2 once its `hello` arrived (within the request deadline,
 * else the socket is dropped). Owns what the negotiation decides for the
 * socket's life: the protocol, readiness and the v2 credit counter.
 */
import { CreditCounter, DEFAULT_ACK_BYTES } from './credit';
import { TermMuxError } from '../protocol/errors';
import {
  ClientMessage,
  IHelloMessage,
  ServerMessage,
  SUBPROTOCOL_V2
} from '../protocol/protocol';
import { ITimers } from './timers';
import { IProtocolInfo } from '../tokens';

/** What the handshake needs from the connection. */
export interface IHandshakeHost {
  readonly timers: ITimers;
  /** How long the server may take to say hello. */
  readonly timeoutMs: number;
  /** Send a control message (credit acks). */
  send(msg: ClientMessage): void;
  /** Tell the UI something failed that no request will show. */
  reportFailure(err: Error): void;
  /** Close the socket as unresponsive; a reconnect follows. */
  dropSocket(reason: string): void;
  /** The socket is ready and speaks `info`. */
  begin(info: IProtocolInfo): void;
}

export class Handshake {
  constructor(private readonly _host: IHandshakeHost) {}

  /** Whether the socket is open and its handshake done. */
  get ready(): boolean {
    return this._ready;
  }

  /** The current socket's protocol (null before the first one is ready). */
  get protocol(): IProtocolInfo | null {
    return this._protocol;
  }

  /** v2 credit of the current socket (null on v1 or while closed). */
  get credit(): CreditCounter | null {
    return this._credit;
  }

  /** The socket opened with `protocol` selected by the server ('' for none). */
  opened(protocol: string): void {
    if (protocol !== SUBPROTOCOL_V2) {
      // No subprotocol selected: a v1 server, or a proxy that stripped it.
      this._begin({ version: 1 });
      return;
    }
    // v2: nothing is sent before the server's `hello`.
    const host = this._host;
    this._helloTimer = host.timers.setTimeout(() => {
      this._helloTimer = null;
      const text = 'the server selected termmux.v2 but sent no hello';
      host.reportFailure(new TermMuxError('timeout', text));
      host.dropSocket('no hello');
    }, host.timeoutMs);
  }

  /** Take `msg` if it belongs to the handshake (a `hello`, or anything before it). */
  take(msg: ServerMessage): boolean {
    if (this._helloTimer !== null) {
      if (msg.type === 'hello') {
        this._hello(msg);
      }
      return true;
    }
    if (msg.type !== 'hello') {
      return false;
    }
    // v2 although no subprotocol was seen: a proxy dropped the answer header
    // (jupyter_server#1310) and this client opened anyway (Chromium does not).
    if (this._protocol?.version === 1) {
      this._hello(msg, false);
    }
    return true;
  }

  /** The socket closed: not ready, no credit, no hello awaited. */
  closed(): void {
    this._ready = false;
    this._clearHelloTimer();
    this._credit?.close();
    this._credit = null;
  }

  private _hello(msg: IHelloMessage, negotiated = true): void {
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
            (channel, bytes) => this._host.send({ type: 'ack', channel, bytes })
          )
        : null;
    this._host.begin(info);
  }

  private _clearHelloTimer(): void {
    if (this._helloTimer !== null) {
      this._host.timers.clearTimeout(this._helloTimer);
      this._helloTimer = null;
    }
  }

  private _ready = false;
  private _helloTimer: unknown = null;
  private _credit: CreditCounter | null = null;
  private _protocol: IProtocolInfo | null = null;
}
