/**
 * Who shows which session on this page, and where each session stands: the
 * single owner of the sessionId → record and channel → record maps. Several
 * tabs (in several panels) may show one session; it is attached once per
 * socket and detached when its last tab leaves. Pure bookkeeping, no I/O.
 */
import { CatchUp } from './catchup';
import { PendingInput } from './pendingInput';
import { Transcript } from './transcript';
import { AttachMode } from '../protocol/protocol';
import { IAttachInfo, ISessionListener } from '../tokens';

export type AttachState = 'detached' | 'attaching' | 'attached';

export interface ISize {
  rows: number;
  cols: number;
}

/** One session as this page knows it. */
export class SessionRecord {
  constructor(readonly sessionId: string) {}

  readonly listeners = new Set<ISessionListener>();
  state: AttachState = 'detached';
  /** Input typed while not attached (or while it is being sent), sent after the next attach. */
  readonly input = new PendingInput();
  /** The send of kept input under way (its characters not yet confirmed), null when none. */
  flush: { chars: number } | null = null;
  /**
   * v2: tabs that joined after the session was drawn: they get no output
   * until the replay an attach without `since` brings them.
   */
  readonly joiners = new Set<ISessionListener>();
  /**
   * v2: tabs being drawn by such a replay while the others keep their
   * screen: output before `until` (what the others already show) is theirs only.
   */
  catchUp: { listeners: Set<ISessionListener>; until: number } | null = null;
  /** The latest size the tabs reported, re-sent after each attach. */
  size: ISize | null = null;
  /** v2: this socket's channel for the session. */
  channel: number | null = null;
  /** v2: offset after the last byte handed to the tabs (null: none yet). */
  offset: number | null = null;
  /** v2: the terminal's life the tabs have seen. */
  incarnation: string | null = null;
  /** v2: the server process the tabs last saw this session from (`hello`'s `boot`). */
  boot: string | null = null;
  /**
   * v2: the `resume` token of this session's last `session.attached`, sent
   * back with `since` after a drop. Never persisted: a reloaded page draws
   * from scratch and has no reservation to claim.
   */
  resume: string | null = null;
  /** The PTY's size as the server last told it (attach answer or `session.resized`). */
  ptySize: ISize | null = null;
  /** `view`: read-only, never sends input or sizes (set by the session's first tab). */
  mode: AttachMode = 'write';
  /** The tabs hold the output up to `offset`, so a re-attach may resume with `since`. */
  hasScreen = false;

  /** v2: whether output out of sight is drawn or only acknowledged (catchup.ts). */
  readonly offscreen = new CatchUp();
  /** v1: what the drawn tabs were given since their screens started (transcript.ts). */
  readonly transcript = new Transcript();

  /** Whether some tab of the session is in sight. */
  get seen(): boolean {
    return [...this.listeners].some(listener => listener.isVisible);
  }

  /** What a tab joining the attached session is told: nothing new, and the PTY's size. */
  joinInfo(): IAttachInfo {
    return { newShell: false, lostBytes: 0, ...(this.ptySize ?? {}) };
  }

  /**
   * Hand output to the tabs; `done` runs once all of them parsed it. `at`
   * (v2) is the stream offset of its first byte: bytes a catching-up tab
   * needs and the others already show go to that tab only.
   */
  deliver(
    data: string | Uint8Array,
    replay: boolean,
    done: () => void,
    at: number | null = null
  ): void {
    const all = [...this.listeners].filter(l => !this.joiners.has(l));
    if (typeof data === 'string') {
      this.transcript.add(data, replay);
    } else {
      this.transcript.lose();
    }
    const catchUp = this.catchUp;
    if (catchUp === null || at === null || typeof data === 'string') {
      fanOut([[all, data]], replay, done, all);
      return;
    }
    const few = all.filter(l => catchUp.listeners.has(l));
    const head = Math.max(0, Math.min(data.byteLength, catchUp.until - at));
    if (at + data.byteLength >= catchUp.until) {
      this.catchUp = null; // from here on every tab gets the same bytes
    }
    const parts: Array<[ISessionListener[], Uint8Array]> = [
      [few, data.subarray(0, head)],
      [all, data.subarray(head)]
    ];
    fanOut(parts, replay, done, all);
  }
}

/**
 * Give each part to its tabs; `done` once every tab parsed every part it
 * got. `seen` is whether any of the session's drawn tabs is in sight.
 */
function fanOut(
  parts: Array<[ISessionListener[], string | Uint8Array]>,
  replay: boolean,
  done: () => void,
  drawn: ISessionListener[]
): void {
  const seen = drawn.some(listener => listener.isVisible);
  const given = parts.filter(([tabs, data]) => tabs.length > 0 && data.length);
  let left = given.reduce((n, [tabs]) => n + tabs.length, 0);
  if (left === 0) {
    done();
    return;
  }
  const one = (): void => {
    if (--left === 0) {
      done();
    }
  };
  for (const [tabs, data] of given) {
    for (const listener of tabs) {
      listener.onOutput({ data, replay, done: once(one), seen });
    }
  }
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (!called) {
      called = true;
      fn();
    }
  };
}

export class SessionTable {
  /** Add a listener; `first` is true when the session was not shown yet (attach needed). */
  add(
    sessionId: string,
    listener: ISessionListener
  ): { record: SessionRecord; first: boolean } {
    let record = this._records.get(sessionId);
    const first = record === undefined;
    if (record === undefined) {
      record = new SessionRecord(sessionId);
      this._records.set(sessionId, record);
    }
    record.listeners.add(listener);
    return { record, first };
  }

  /** Remove a listener; returns the record when it was the last one (detach needed). */
  remove(sessionId: string, listener: ISessionListener): SessionRecord | null {
    const record = this._records.get(sessionId);
    if (record === undefined || !record.listeners.delete(listener)) {
      return null;
    }
    record.joiners.delete(listener);
    record.catchUp?.listeners.delete(listener);
    if (record.listeners.size > 0) {
      return null;
    }
    this.drop(sessionId);
    return record;
  }

  /** Forget a session entirely (it exited or cannot be attached). */
  drop(sessionId: string): SessionRecord | null {
    const record = this._records.get(sessionId);
    if (record === undefined) {
      return null;
    }
    this._records.delete(sessionId);
    this.unbind(record);
    return record;
  }

  get(sessionId: string): SessionRecord | undefined {
    return this._records.get(sessionId);
  }

  /** Whether `record` is still the live record of its session. */
  isCurrent(record: SessionRecord): boolean {
    return this._records.get(record.sessionId) === record;
  }

  /** Every shown session, to re-attach after a reconnect. */
  records(): SessionRecord[] {
    return [...this._records.values()];
  }

  /** v2: the server assigned `channel` to the session on this socket. */
  bind(record: SessionRecord, channel: number): void {
    this.unbind(record);
    record.channel = channel;
    this._channels.set(channel, record);
  }

  /** v2: forget the session's channel (frames still arriving on it are ignored). */
  unbind(record: SessionRecord): void {
    if (record.channel !== null) {
      this._channels.delete(record.channel);
      record.channel = null;
    }
  }

  byChannel(channel: number): SessionRecord | undefined {
    return this._channels.get(channel);
  }

  /** The socket closed: no session is attached, channels are void. */
  resetAll(): void {
    this._channels.clear();
    for (const record of this._records.values()) {
      record.channel = null;
      record.state = 'detached';
      // Kept input on its way and not confirmed is not sent again (it may have arrived).
      if (record.flush !== null) {
        record.input.discard(record.flush.chars, 'unconfirmed');
        record.flush = null;
      }
      // A replay under way ends with its channel: the other tabs resume from
      // what they show, the tabs it was drawing wait for the next replay.
      if (record.catchUp !== null) {
        record.offset = record.catchUp.until;
        record.catchUp.listeners.forEach(l => record.joiners.add(l));
        record.catchUp = null;
      }
    }
  }

  private readonly _records = new Map<string, SessionRecord>();
  private readonly _channels = new Map<number, SessionRecord>();
}
