/**
 * What the server sends on its own: output (v1 text, v2 binary frames with
 * credit), exits, truncation, slow detaches and unsolicited errors. Output
 * goes only to the tabs of its session; frames of unknown or released
 * channels are ignored.
 */
import { Attacher } from './attacher';
import { decodeBinaryFrame, FrameType } from '../protocol/binary';
import { IMuxCore } from './core';
import { IErrorMessage, ServerMessage } from '../protocol/protocol';

export class Inbound {
  constructor(
    private readonly _core: IMuxCore,
    private readonly _attacher: Attacher,
    private readonly _slowReattachMs: number
  ) {}

  /** Handle an unsolicited message; false when it is an answer to a request. */
  handle(msg: ServerMessage): boolean {
    const table = this._core.table;
    switch (msg.type) {
      case 'terminal.output':
        table.get(msg.sessionId)?.deliver(msg.data, msg.replay === true, noop);
        return true;
      case 'session.exited':
        this._onExited(msg.sessionId, msg.exitCode, msg.signal);
        return true;
      case 'session.truncated': {
        const record = table.byChannel(msg.channel);
        if (record !== undefined) {
          record.offset = msg.offset;
          // Every drawn tab starts again from here (joiners still await their replay).
          record.catchUp = null;
          for (const listener of record.listeners) {
            listener.onReset(msg.preamble);
          }
        }
        return true;
      }
      case 'session.skipped': {
        // A view far behind goes on from near the end: the screen, not every byte.
        const record = this._core.table.byChannel(msg.channel);
        // Out of sight and not drawing, the offset stays where the screens stopped.
        if (record !== undefined && !record.offscreen.skipping) {
          record.offset = msg.offset;
          if (record.catchUp !== null && msg.offset >= record.catchUp.until) {
            record.catchUp = null; // every tab goes on from the same place
          }
          if (msg.preamble !== '') {
            record.deliver(msg.preamble, false, noop);
          }
        }
        return true;
      }
      case 'session.resized': {
        const record = table.get(msg.sessionId);
        if (record !== undefined) {
          record.ptySize = { rows: msg.rows, cols: msg.cols };
          for (const listener of record.listeners) {
            listener.onResized?.(msg.rows, msg.cols);
          }
        }
        return true;
      }
      case 'session.detached':
        if (msg.id === undefined && msg.reason !== undefined) {
          this._onServerDetached(msg.sessionId, msg.reason);
          return true;
        }
        return false;
      case 'error':
        if (msg.id === undefined) {
          this.onError(msg);
          return true;
        }
        return false;
      default:
        return false;
    }
  }

  /** A v2 binary frame: hand the payload to its session's tabs, credit it once parsed. */
  onBinary(data: ArrayBuffer): void {
    const frame = decodeBinaryFrame(data);
    const credit = this._core.credit;
    if (frame === null || credit === null) {
      console.warn('termmux: ignoring a malformed or unexpected binary frame');
      return;
    }
    const record = this._core.table.byChannel(frame.channel);
    if (record === undefined) {
      return; // released channel: frames already sent on it are ignored
    }
    const n = frame.payload.byteLength;
    credit.begin(frame.channel);
    if (record.offscreen.arrive(n, record.seen)) {
      // A flood out of sight: acknowledged, not drawn. The record's offset stays where
      // the tabs' screens stopped, so showing a tab (or a reconnect) resumes from there.
      credit.done(frame.channel, n);
      return;
    }
    if (record.offset !== null && frame.offset !== record.offset) {
      console.warn(
        `termmux: session ${record.sessionId}: frame at ${frame.offset}, expected ${record.offset}`
      );
    }
    record.offset = frame.offset + n;
    const replay = frame.type === FrameType.Replay;
    const done = (): void => credit.done(frame.channel, n);
    record.deliver(frame.payload, replay, done, frame.offset);
  }

  /** An error no request is waiting for. */
  onError(msg: IErrorMessage): void {
    console.warn(`termmux: server error ${msg.code}: ${msg.message}`);
    const record =
      msg.sessionId === undefined
        ? undefined
        : this._core.table.get(msg.sessionId);
    if (msg.code === 'not-attached' && record !== undefined) {
      // We believed it attached; the server does not: attach again.
      this._attacher.forgetChannel(record);
      record.state = 'detached';
      this._attacher.attach(record);
    }
  }

  private _onExited(
    sessionId: string,
    exitCode: number | null,
    signal?: string
  ): void {
    const record = this._core.table.get(sessionId);
    if (record !== undefined) {
      this._attacher.forgetChannel(record);
      this._core.table.drop(sessionId);
      for (const listener of record.listeners) {
        listener.onExited(exitCode, signal);
      }
    }
    this._core.notifySessionsChanged();
  }

  private _onServerDetached(sessionId: string, reason: string): void {
    const record = this._core.table.get(sessionId);
    if (record === undefined) {
      return;
    }
    this._attacher.forgetChannel(record);
    record.state = 'detached';
    for (const listener of record.listeners) {
      listener.onDetached(reason);
    }
    // Dropped for being slow (v1): the replay on re-attach redraws the screen.
    this._core.timers.setTimeout(() => {
      if (this._core.table.isCurrent(record)) {
        this._attacher.attach(record);
      }
    }, this._slowReattachMs);
  }
}

function noop(): void {
  return;
}
