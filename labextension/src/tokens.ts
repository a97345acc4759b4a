/**
 * The public API of the page's termmux connection: the token other plugins
 * require, and the interfaces of the connection, its session channels and
 * the listeners (tabs) that show a session.
 */
import { IDisposable } from '@lumino/disposable';
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

import { IDiscardedInput } from './connection/pendingInput';
import {
  AttachMode,
  IProfileInfo,
  IServerLimits,
  ISessionInfo,
  ProtocolVersion
} from './protocol/protocol';

/** Visible state of the page's connection. */
export type ConnectionStatus =
  'connecting' | 'connected' | 'reconnecting' | 'closed';

/** What was negotiated on the current socket. */
export interface IProtocolInfo {
  version: ProtocolVersion;
  /** v2: the server's name and version from `hello`. */
  server?: string;
  serverVersion?: string;
  limits?: IServerLimits;
  /** v2: false when the server's hello came without a negotiated subprotocol. */
  negotiated?: boolean;
  /** v2: what this user may do on terminals (read, write, execute). */
  access?: string[];
  /** v2: whether the server lets read-only users watch (allow_viewers). */
  viewers?: boolean;
  /** v2: the server process (`hello`'s `boot`): another one means it restarted. */
  boot?: string;
}

/** Options of a new session: where it starts and at what size. */
export interface ICreateOptions {
  cwd?: string;
  sessionId?: string;
  rows?: number;
  cols?: number;
  /** One of the server's shell profiles (`listProfiles`); the server's default when absent. */
  profile?: string;
}

/**
 * Where a session's stream stands for a tab. Only the incarnation is
 * persisted (a reload can then tell a new shell under the name); the offset
 * is not: a reloaded page has an empty screen and draws from the replay.
 */
export interface IResumePoint {
  /** Offset after the last byte handed to the terminal (absent when restored). */
  offset?: number;
  /** The life of the terminal that produced it. */
  incarnation: string;
}

/** One piece of output for a tab. */
export interface IOutputChunk {
  /** Text (v1) or raw UTF-8 bytes (v2). */
  data: string | Uint8Array;
  /** History the tab did not see live: xterm's replies must be dropped. */
  replay: boolean;
  /** Call once xterm.js has parsed it (returns flow-control credit). */
  done: () => void;
  /**
   * Some tab of this session is in sight. Credit returns once every tab parsed
   * a chunk, so then no tab of it is paced (a hidden one would hold the shown one back).
   */
  seen?: boolean;
}

/** What an attach told the tab. */
export interface IAttachInfo {
  /** The name now belongs to another shell than the one this tab showed. */
  newShell: boolean;
  /** Output bytes that were produced while away and are no longer available. */
  lostBytes: number;
  /**
   * The server restarted since the tab last saw the session, which went on
   * (a kept terminal); `outputMissing`: output from while it was down may be
   * missing (it had crashed).
   */
  serverRestarted?: boolean;
  outputMissing?: boolean;
  /** The PTY's size, when the server told it (a view renders at it). */
  rows?: number;
  cols?: number;
  /** Input typed while detached that was not sent, and why. */
  discardedInput?: IDiscardedInput[];
}

/** What a tab is told about its session. */
export interface ISessionListener {
  /** Whether the tab is in sight (a Lumino widget's own `isVisible`). */
  readonly isVisible: boolean;
  /** PTY output, in order. */
  onOutput(chunk: IOutputChunk): void;
  /** v2: draw from scratch: reset, then write `preamble` with replies dropped. */
  onReset(preamble: string): void;
  /** The server confirmed the subscription (also after each reconnect). */
  onAttached(info: IAttachInfo): void;
  /** The PTY ended; the server dropped the subscription. */
  onExited(exitCode: number | null, signal?: string): void;
  /** The server dropped the subscription (`reason` e.g. "slow"), or attaching failed. */
  onDetached(reason: string): void;
  /** The PTY took another size (that of its latest writer). */
  onResized?(rows: number, cols: number): void;
}

/** One tab's handle on a session: send input and sizes; dispose to detach. */
export interface ISessionChannel extends IDisposable {
  readonly sessionId: string;
  /** Where the stream stands (v2), to persist for a reload; null on v1. */
  readonly resumePoint: IResumePoint | null;
  /** Send keystrokes; queued while the session is not (re-)attached. */
  send(data: string): void;
  /** Report this tab's size; the latest one is (re-)sent after each attach. */
  resize(rows: number, cols: number): void;
  /** The tab came into sight: redraw what went undrawn while out of sight (catchup.ts). */
  catchUp(): void;
}

/** The connection service shared by every termmux tab of the page. */
export interface ITermMuxConnection {
  readonly status: ConnectionStatus;
  readonly statusChanged: ISignal<ITermMuxConnection, ConnectionStatus>;
  /** The protocol of the current socket (null before the first one is ready). */
  readonly protocol: IProtocolInfo | null;
  readonly protocolChanged: ISignal<ITermMuxConnection, IProtocolInfo | null>;
  /** Emitted when this page created, closed or saw the exit of a session. */
  readonly sessionsChanged: ISignal<ITermMuxConnection, void>;
  /** Emitted when something failed that no caller will show (an attach timed out). */
  readonly failed: ISignal<ITermMuxConnection, Error>;
  /** Start a new terminal (not attached); resolves to its session id. */
  createSession(options?: ICreateOptions): Promise<string>;
  /** Terminate a terminal. */
  closeSession(sessionId: string): Promise<void>;
  /** The server's terminals (malformed entries skipped). */
  listSessions(): Promise<ISessionInfo[]>;
  /** The shell profiles new sessions may start with. */
  listProfiles(): Promise<IProfileInfo[]>;
  /** Round trip to the server. */
  ping(): Promise<void>;
  /**
   * Write input and learn whether the server took it: false when it refused
   * it with `input-overflow` (nothing written; send it again later).
   */
  sendInputChecked(sessionId: string, data: string): Promise<boolean>;
  /**
   * Listen to a session (attaching it on the socket when first). `resume` is
   * what a restored tab last saw, to recognise a new shell under its name.
   * `mode` is `view` for a read-only tab; the first tab of a session on this
   * page decides the mode of the session's single subscription.
   */
  attach(
    sessionId: string,
    listener: ISessionListener,
    resume?: IResumePoint | null,
    mode?: AttachMode
  ): ISessionChannel;
  /** Reconnect now (after giving up, or to skip a backoff wait). */
  reconnect(): void;
}

/** The page's single multiplexed termmux connection. */
export const ITermMuxConnection = new Token<ITermMuxConnection>(
  'jupyter-termmux:ITermMuxConnection',
  'The single multiplexed WebSocket shared by every termmux terminal of the page.'
);
