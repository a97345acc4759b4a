/**
 * The attach rules of protocol v2 (PROTOCOL.md "Attach, resume,
 * truncation"), as pure functions of a session record: what to ask for, and
 * what the answer means for the tabs. Kept apart from the socket so each rule
 * is unit-tested on its own.
 */
import {
  IAttachedMessage,
  IAttachMessage,
  ProtocolVersion
} from '../protocol/protocol';
import { kindError, KINDS } from '../protocol/schema';
import { SessionRecord } from './sessions';
import { IAttachInfo, ISessionListener } from '../tokens';

/**
 * The attach request for `record`: on v2 it resumes (`since`, and the
 * record's own `resume` token) when the tabs hold the output, unless it is
 * a `rejoin`: a replay for tabs that joined after the others were drawn.
 */
export function attachRequest(
  record: SessionRecord,
  version: ProtocolVersion,
  rejoin = false
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
    if (record.hasScreen && record.offset !== null && !rejoin) {
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

/** What an attach answer means for the tabs, and which tabs to tell. */
export interface IApplied {
  info: IAttachInfo;
  /** The tabs the answer concerns: all, or only those a rejoin draws. */
  tabs: ISessionListener[];
}

/**
 * Apply a v2 `session.attached` to `record`: reset the tabs when they must
 * draw from scratch, note a new shell under the same name or output lost
 * while away, and move the record to the answer's offset, incarnation and
 * resume token. The answer to a `rejoin` resets only the tabs that joined:
 * the others keep their screen, and the replayed bytes they already show go
 * to the joiners only (`record.catchUp`).
 */
export function applyAttached(
  record: SessionRecord,
  msg: IAttachedMessage,
  sentSince: boolean,
  rejoin = false,
  boot?: string
): IApplied {
  const info: IAttachInfo = { newShell: false, lostBytes: 0, ...sizeOf(msg) };
  noteLife(record, msg, info, sentSince, boot);
  const shown = record.offset;
  const start = msg.offset;
  const joiners = [...record.joiners];
  let tabs = [...record.listeners];
  const keep =
    rejoin &&
    record.hasScreen &&
    !info.newShell &&
    shown !== null &&
    start !== undefined &&
    start <= shown;
  const reset =
    !keep && (!sentSince || msg.truncated === true || info.newShell);
  // Lost only when resuming: the tabs showed up to `since` and history moved on.
  const resumed = sentSince && !info.newShell && !info.serverRestarted;
  if (resumed && msg.truncated === true) {
    const from = shown ?? 0;
    info.lostBytes = Math.max(0, (start ?? from) - from);
  } else if (rejoin && !keep && !info.newShell && shown !== null) {
    // History moved past what the drawn tabs show: they redraw too.
    info.lostBytes = Math.max(0, (start ?? shown) - shown);
  }
  if (keep) {
    joiners.forEach(listener => listener.onReset(msg.preamble ?? ''));
    // Replayed bytes the drawn tabs show are the joiners' only (none, if they left).
    record.catchUp =
      shown > start ? { listeners: new Set(joiners), until: shown } : null;
    record.joiners.clear();
    tabs = joiners;
  } else if (reset) {
    tabs.forEach(listener => listener.onReset(msg.preamble ?? ''));
    record.joiners.clear();
    record.catchUp = null;
  } else {
    tabs = tabs.filter(listener => !record.joiners.has(listener));
  }
  if (start !== undefined) {
    record.offset = start;
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
  return { info, tabs };
}

/**
 * Whose terminal the answer is: another life under the same name (a new
 * shell), or the same one from another server process (a kept terminal
 * outlived a restart of the server; its offsets jumped if the server
 * crashed, so the tab is told output may be missing, not a byte count).
 */
function noteLife(
  record: SessionRecord,
  msg: IAttachedMessage,
  info: IAttachInfo,
  sentSince: boolean,
  boot: string | undefined
): void {
  if (msg.incarnation !== undefined && record.incarnation !== null) {
    info.newShell = msg.incarnation !== record.incarnation;
  }
  if (boot === undefined) {
    return;
  }
  if (
    sentSince &&
    !info.newShell &&
    record.boot !== null &&
    boot !== record.boot
  ) {
    info.serverRestarted = true;
    info.outputMissing = msg.truncated === true;
  }
  record.boot = boot;
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
