/**
 * The attach rules of protocol v2 (PROTOCOL.md "Attach, resume,
 * truncation"), as pure functions of a session record: what to ask for, and
 * what the answer means for the tabs. Kept apart from the socket so each rule
 * is unit-tested on its own.
 */
import { IAttachedMessage, IAttachMessage, ProtocolVersion } from './protocol';
import { kindError, KINDS } from './schema';
import { SessionRecord } from './sessions';
import { IAttachInfo } from './tokens';

/**
 * The attach request for `record`: on v2 it resumes (`since`, and the
 * record's own `resume` token) when the tabs hold the output.
 */
export function attachRequest(
  record: SessionRecord,
  version: ProtocolVersion
): IAttachMessage {
  const msg: IAttachMessage = {
    type: 'session.attach',
    sessionId: record.sessionId,
    replay: true
  };
  if (record.mode === 'view') {
    msg.mode = 'view';
  }
  if (version === 2) {
    // `since` only when the tabs still show the output up to it (a reconnect);
    // a new tab or a reloaded page has an empty screen and needs the replay.
    if (record.hasScreen && record.offset !== null) {
      msg.since = record.offset;
      // The token names the subscription the server held for this record
      // when the socket dropped: the server releases exactly that reservation.
      if (record.resume !== null) {
        msg.resume = record.resume;
      }
    }
    if (record.incarnation !== null) {
      msg.incarnation = record.incarnation;
    }
  }
  return msg;
}

/**
 * Apply a v2 `session.attached` to `record`: reset the tabs when they must
 * draw from scratch, note a new shell under the same name or output lost
 * while away, and move the record to the answer's offset, incarnation and
 * resume token.
 */
export function applyAttached(
  record: SessionRecord,
  msg: IAttachedMessage,
  sentSince: boolean,
  boot?: string
): IAttachInfo {
  const info: IAttachInfo = { newShell: false, lostBytes: 0, ...sizeOf(msg) };
  if (msg.incarnation !== undefined && record.incarnation !== null) {
    info.newShell = msg.incarnation !== record.incarnation;
  }
  // Another server process, the same terminal: a kept terminal outlived a
  // restart. Its offsets jumped if the server crashed, so no byte count.
  if (
    sentSince &&
    !info.newShell &&
    boot !== undefined &&
    record.boot !== null &&
    boot !== record.boot
  ) {
    info.serverRestarted = true;
    info.outputMissing = msg.truncated === true;
  }
  if (boot !== undefined) {
    record.boot = boot;
  }
  const reset = !sentSince || msg.truncated === true || info.newShell;
  // Lost only when resuming: the tabs showed up to `since` and history moved on.
  if (
    sentSince &&
    msg.truncated === true &&
    !info.newShell &&
    !info.serverRestarted
  ) {
    const from = record.offset ?? 0;
    info.lostBytes = Math.max(0, (msg.offset ?? from) - from);
  }
  if (reset) {
    for (const listener of record.listeners) {
      listener.onReset(msg.preamble ?? '');
    }
  }
  if (msg.offset !== undefined) {
    record.offset = msg.offset;
  }
  if (msg.incarnation !== undefined) {
    record.incarnation = msg.incarnation;
  }
  // Every attach issues a new token: keep this session's, if the server
  // would take it back, and never another session's.
  const token = msg.resume;
  record.resume =
    token !== undefined &&
    msg.sessionId === record.sessionId &&
    kindError(token, KINDS.resume) === null
      ? token
      : null;
  record.hasScreen = true;
  return info;
}

/** The PTY size an attach answer carries, if both parts are there. */
export function sizeOf(msg: IAttachedMessage): {
  rows?: number;
  cols?: number;
} {
  return msg.rows !== undefined && msg.cols !== undefined
    ? { rows: msg.rows, cols: msg.cols }
    : {};
}
