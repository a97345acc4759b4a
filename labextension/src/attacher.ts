/**
 * The attach state machine: detached → attaching → attached, per session.
 * On attach: v2 channel binding and resume (attach.ts), then the latest size
 * and the input typed meanwhile. A failed attach drops the session; one the
 * server never answers restarts the socket.
 */
import { applyAttached, attachRequest, sizeOf } from './attach';
import { IChannelHost } from './channel';
import { IMuxCore } from './core';
import { TermMuxError } from './errors';
import { encodeClientMessage, ICreateMessage, ServerMessage } from './protocol';
import { SessionRecord } from './sessions';
import {
  IAttachInfo,
  ICreateOptions,
  IResumePoint,
  ISessionListener
} from './tokens';

/** The `session.create` request for `options` (a size only when both are given). */
export function createMessage(options: ICreateOptions): ICreateMessage {
  const msg: ICreateMessage = { type: 'session.create' };
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
  if (options.profile !== undefined) {
    msg.profile = options.profile;
  }
  return msg;
}

export class Attacher implements IChannelHost {
  constructor(
    private readonly _core: IMuxCore,
    private readonly _sendFrame: (frame: string) => void
  ) {}

  /** Attach `record` if the socket is ready and the record is detached. */
  attach(record: SessionRecord): void {
    const info = this._core.protocol;
    if (!this._core.ready || record.state !== 'detached' || info === null) {
      return;
    }
    record.state = 'attaching';
    const msg = attachRequest(record, info.version);
    const sentSince = msg.since !== undefined;
    const id = this._core.requests.add(
      `Attaching terminal ${record.sessionId}`,
      {
        resolve: answer => this._onAttached(record, answer, sentSince),
        reject: err => this._onFailed(record, err)
      }
    );
    this._sendFrame(encodeClientMessage({ ...msg, id }));
  }

  /** Send keystrokes now if attached, else after the next attach. */
  sendInput(sessionId: string, data: string): void {
    const record = this._core.table.get(sessionId);
    if (record?.mode === 'view') {
      return; // a view types nothing (the server would answer read-only)
    }
    if (record?.state === 'attached' && this._core.ready) {
      this._core.send({ type: 'terminal.input', sessionId, data });
    } else {
      record?.input.push(data);
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
    sentSince: boolean
  ): void {
    const core = this._core;
    if (!core.table.isCurrent(record) || msg.type !== 'session.attached') {
      return; // detached meanwhile
    }
    record.state = 'attached';
    const size = sizeOf(msg);
    if (size.rows !== undefined && size.cols !== undefined) {
      record.ptySize = { rows: size.rows, cols: size.cols };
    }
    let info: IAttachInfo = { newShell: false, lostBytes: 0, ...sizeOf(msg) };
    if (core.protocol?.version === 2 && msg.channel !== undefined) {
      this.forgetChannel(record);
      core.table.bind(record, msg.channel);
      info = applyAttached(record, msg, sentSince, core.protocol.boot);
    }
    const sessionId = record.sessionId;
    if (record.size !== null) {
      core.send({ type: 'terminal.resize', sessionId, ...record.size });
    }
    const queued = record.input.join('');
    record.input = [];
    if (queued !== '') {
      core.send({ type: 'terminal.input', sessionId, data: queued });
    }
    for (const listener of record.listeners) {
      listener.onAttached(info);
    }
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
}
