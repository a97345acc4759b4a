/**
 * What the connection's parts (attacher.ts, inbound.ts) share: the session
 * table, the request table and the current socket's protocol and credit.
 * The multiplexer is its only implementation; the parts are unit-tested
 * through it.
 */
import { CreditCounter } from './credit';
import { ClientMessage } from '../protocol/protocol';
import { RequestTable } from './requests';
import { SessionTable } from './sessions';
import { ITimers } from './timers';
import { IProtocolInfo } from '../tokens';

export interface IMuxCore {
  readonly table: SessionTable;
  readonly requests: RequestTable;
  readonly timers: ITimers;
  /** The current socket's protocol (null before the first one is ready). */
  readonly protocol: IProtocolInfo | null;
  /** Whether the socket is open and its handshake done. */
  readonly ready: boolean;
  /** v2 credit of the current socket (null on v1 or while closed). */
  readonly credit: CreditCounter | null;
  /** Round trip to the server (confirms the input sent before it). */
  ping(): Promise<void>;
  /** Send a message if ready, else drop it (its effect is re-derived on reconnect). */
  send(msg: ClientMessage): void;
  /** Close the current socket as unresponsive; a reconnect follows. */
  dropSocket(reason: string): void;
  /** Tell the UI a request failed. */
  reportFailure(err: Error): void;
  /** The server's set of sessions changed (an exit). */
  notifySessionsChanged(): void;
}
