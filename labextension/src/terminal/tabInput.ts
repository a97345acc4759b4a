/**
 * What a tab sends to its session: typed keys (xterm's onData) and pastes
 * (chunked and confirmed, one after the other, paste.ts). A read-only (view)
 * tab, an ended session, and xterm's replies to replayed output send nothing.
 */
import { IDisposable } from '@lumino/disposable';
import { IDisposable as IXtermDisposable, Terminal } from '@xterm/xterm';

import {
  IPasteReport,
  PasteQueue,
  preparePaste,
  reportPaste
} from '../connection/paste';
import { AttachMode } from '../protocol/protocol';
import { ISessionChannel, ITermMuxConnection } from '../tokens';

/** What the input asks of its tab. */
export interface IInputHost {
  readonly sessionId: string;
  readonly mode: AttachMode;
  readonly node: HTMLElement;
  /** Whether the session still takes input (not exited, not gone, tab not disposed). */
  live(): boolean;
  /** Whether xterm is parsing replayed output (its escape-sequence answers are stale). */
  replaying(): boolean;
}

export class TabInput implements IDisposable {
  constructor(
    term: Terminal,
    channel: ISessionChannel,
    connection: ITermMuxConnection,
    host: IInputHost
  ) {
    this._term = term;
    this._data = term.onData(data => {
      // Belt and braces: an escape sequence emitted while a replay chunk is
      // parsed is an answer to old output; typed text still goes through.
      const reply = data.startsWith('\x1b') && host.replaying();
      if (host.live() && !reply && host.mode === 'write') {
        channel.send(data);
      }
    });
    this._paste = new PasteQueue(
      chunk => {
        if (!host.live() || host.mode === 'view') {
          return Promise.reject(new Error('the terminal is gone or read-only'));
        }
        return connection.sendInputChecked(host.sessionId, chunk);
      },
      (r: IPasteReport) => reportPaste(host.node, r)
    );
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Paste text into the session: chunked and confirmed, after earlier pastes. */
  paste(text: string): Promise<void> {
    const bracketed = this._term.modes.bracketedPasteMode;
    return this._paste.paste(preparePaste(text, bracketed));
  }

  dispose(): void {
    if (!this._disposed) {
      this._disposed = true;
      this._data.dispose();
    }
  }

  private readonly _term: Terminal;
  private readonly _data: IXtermDisposable;
  private readonly _paste: PasteQueue;
  private _disposed = false;
}
