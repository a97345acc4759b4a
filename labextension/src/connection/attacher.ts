/**
 * The attach state machine: detached → attaching → attached, per session.
 * On attach: v2 channel binding and resume (attach.ts), then the latest size
 * and the input typed meanwhile (inputSender.ts). A tab that joins a drawn
 * session on v2 gets its screen by a rejoin: an attach without `since`
 * whose replay only the joining tabs draw; on v1 it is drawn from the copy
 * of what the other tabs were given (transcript.ts). A failed attach drops
 * the session; one the server never answers restarts the socket.
 */
import { applyAttached, attachRequest, sizeOf } from './attach';
import { IChannelHost } from './channel';
import { IMuxCore } from './core';
import { TermMuxError } from '../protocol/errors';
import { InputSender } from './inputSender';
import { encodeClientMessage, ServerMessage } from '../protocol/protocol';
import { SessionRecord } from './sessions';
import { IAttachInfo, IResumePoint, ISessionListener } from '../tokens';

export class Attacher implements IChannelHost {
  constructor(
    private readonly _core: IMuxCore,
    private readonly _sendFrame: (frame: string) => void
  ) {
    this._input = new InputSender(_core);
  }

  /** Attach `record` if the socket is ready and the record is detached. */
  attach(record: SessionRecord, rejoin = false): void {
    const info = this._core.protocol;
    if (!this._core.ready || record.state !== 'detached' || info === null) {
      return;
    }
    record.state = 'attaching';
    const msg = attachRequest(record, info.version, rejoin);
    const sentSince = msg.since !== undefined;
    const id = this._core.requests.add(
      `Attaching terminal ${record.sessionId}`,
      {
        resolve: answer => this._onAttached(record, answer, sentSince, rejoin),
        reject: err => this._onFailed(record, err)
      }
    );
    this._sendFrame(encodeClientMessage({ ...msg, id }));
  }

  /**
   * A tab joins a session other tabs already show: on v2 it is drawn by a
   * rejoin (now, or once the attach under way is answered). On v1, whose
   * server replays once per socket, it is drawn from the copy of what the
   * others were given, or, when that outgrew its limit, every tab is drawn
   * again from a new attach's replay. An attach under way draws it anyway.
   */
  join(record: SessionRecord, listener: ISessionListener): void {
    if (record.hasScreen) {
      record.joiners.add(listener);
      this._rejoin(record);
    } else if (record.state === 'attached') {
      const text = record.transcript.text();
      if (text === null) {
        this._redraw(record);
        return;
      }
      listener.onAttached(record.joinInfo());
      if (text !== '') {
        // Old output: written as a replay, so xterm answers none of its queries.
        const seen = record.seen;
        listener.onOutput({ data: text, replay: true, done: noop, seen });
      }
    }
  }

  /** Send keystrokes now if attached, else after the next attach. */
  sendInput(sessionId: string, data: string): void {
    const record = this._core.table.get(sessionId);
    if (record !== undefined) {
      this._input.send(record, data);
    }
  }

  /** Record a tab's size; sent now if attached and after each attach. */
  sendResize(sessionId: string, rows: number, cols: number): void {
    const record = this._core.table.get(sessionId);
    const size = record?.size;
    if (
      !record ||
      record.mode === 'view' ||
      (size && size.rows === rows && size.cols === cols)
    ) {
      return;
    }
    record.size = { rows, cols };
    if (record.state === 'attached') {
      this._core.send({ type: 'terminal.resize', sessionId, rows, cols });
    }
  }

  /** A tab left; the last one detaches the session (the PTY keeps running). */
  release(sessionId: string, listener: ISessionListener): void {
    const record = this._core.table.remove(sessionId, listener);
    if (record !== null) {
      this.forgetChannel(record);
      this._core.send({ type: 'session.detach', sessionId });
    }
  }

  /** Where the session's stream stands (v2), for a tab to persist. */
  resumePoint(sessionId: string): IResumePoint | null {
    const record = this._core.table.get(sessionId);
    if (!record || record.offset === null || record.incarnation === null) {
      return null;
    }
    return { offset: record.offset, incarnation: record.incarnation };
  }

  /**
   * A tab of the session came into sight: if output went undrawn meanwhile,
   * attach again `since` the tabs' screens, so the server sends what its
   * history holds after it (or resets them to its last screen's worth).
   */
  catchUp(sessionId: string): void {
    const record = this._core.table.get(sessionId);
    if (record === undefined || !record.offscreen.shown()) {
      return;
    }
    if (record.state !== 'attached') {
      return; // the attach under way already asks `since` the tabs' screens
    }
    this.forgetChannel(record);
    record.state = 'detached';
    record.resume = null; // this socket holds no reservation for the session
    this.attach(record);
  }

  /** Forget a record's channel and the credit owed on it. */
  forgetChannel(record: SessionRecord): void {
    if (record.channel !== null) {
      this._core.credit?.release(record.channel);
      this._core.table.unbind(record);
    }
  }

  private _onAttached(
    record: SessionRecord,
    msg: ServerMessage,
    sentSince: boolean,
    rejoin: boolean
  ): void {
    const core = this._core;
    if (!core.table.isCurrent(record) || msg.type !== 'session.attached') {
      return; // detached meanwhile
    }
    record.state = 'attached';
    record.offscreen.restart(); // a new stream: drawn from its first byte
    const size = sizeOf(msg);
    if (size.rows !== undefined && size.cols !== undefined) {
      record.ptySize = { rows: size.rows, cols: size.cols };
    }
    let info: IAttachInfo = { newShell: false, lostBytes: 0, ...size };
    let tabs = [...record.listeners];
    if (core.protocol?.version === 2 && msg.channel !== undefined) {
      this.forgetChannel(record);
      core.table.bind(record, msg.channel);
      ({ info, tabs } = applyAttached(
        record,
        msg,
        sentSince,
        rejoin,
        core.protocol.boot
      ));
      record.transcript.lose(); // v2 bytes are not copied
    } else {
      record.joiners.clear(); // v1: every tab gets the same stream
      record.hasScreen = false; // a v2 stream's offsets say nothing of v1 output
      record.transcript.restart();
    }
    const sessionId = record.sessionId;
    if (record.size !== null) {
      core.send({ type: 'terminal.resize', sessionId, ...record.size });
    }
    this._input.attached(record, info.newShell);
    const discarded = record.input.takeDiscarded();
    if (discarded.length > 0) {
      info = { ...info, discardedInput: discarded };
    }
    this._input.flush(record);
    for (const listener of tabs) {
      listener.onAttached(info);
    }
    this._rejoin(record);
  }

  /** Re-attach without `since` if tabs wait for their screen and no attach is under way. */
  private _rejoin(record: SessionRecord): void {
    if (record.joiners.size > 0 && record.state === 'attached') {
      record.state = 'detached';
      this.attach(record, true);
    }
  }

  /**
   * v1: draw every tab of `record` again from the server's replay: a
   * detach, then an attach (with `replay`) that a v1 server answers with
   * its history of the session, the modes the program is in first.
   */
  private _redraw(record: SessionRecord): void {
    this._core.send({ type: 'session.detach', sessionId: record.sessionId });
    record.state = 'detached';
    this.attach(record);
  }

  private _onFailed(record: SessionRecord, err: Error): void {
    const code = err instanceof TermMuxError ? err.code : err.message;
    if (code === 'connection-lost' || code === 'disposed') {
      return; // re-attached on reconnect
    }
    if (code === 'timeout') {
      // The server never answered: start over on a fresh socket.
      this._core.reportFailure(err);
      this._core.dropSocket('attach timed out');
      return;
    }
    if (this._core.table.drop(record.sessionId) !== null) {
      for (const listener of record.listeners) {
        listener.onDetached(code);
      }
    }
  }

  private readonly _input: InputSender;
}

function noop(): void {
  return;
}
