/**
 * What a tab writes into xterm.js, and when xterm's own answers must be
 * dropped. v1 text goes through the FlowWriter (watermarks, as before). v2
 * bytes go straight to `term.write(bytes, callback)`: the server never has
 * more than its credit window unacknowledged, so no queue is kept here.
 * While a replay or a preamble is being parsed, xterm must not answer the
 * queries in that old output (cursor position, device attributes...): the
 * tab swallows them (replies.ts) and drops escape sequences xterm emits then.
 *
 * A tab out of sight is paced (its terminal.ts decides: no tab of the session
 * in sight, page not hidden): one v2 slice at a time, then a rest twice as long
 * as that slice took, so a flood in a hidden tab takes at most about a third
 * of the page's main thread and the tab in front stays quick to answer keys.
 * Credit follows parsing, so the server simply sends that tab less; shown
 * again, the tab hands everything held to xterm at once and catches up. Past
 * a limit out of sight the session's frames do not reach this writer at all
 * (catchup.ts): they are acknowledged undrawn and redrawn from history.
 */
import { FlowWriter } from './flow';
import { ITimers, realTimers } from '../connection/timers';
import { IOutputChunk } from '../tokens';

/** Rest after each slice of a hidden tab, as a multiple of the time it took. */
export const BACKGROUND_REST = 2;
/** Bounds of that rest in ms (a very fast or a stalled parse stays reasonable). */
export const BACKGROUND_REST_MS: [number, number] = [2, 250];

/** ESC c (RIS): full reset, applied in-stream so output xterm still holds is wiped too. */
export const FULL_RESET = '\x1bc';

/** The part of xterm.js's Terminal written to (tests inject a fake). */
export interface ITerminalSink {
  write(data: string | Uint8Array, callback?: () => void): void;
  scrollToBottom?(): void;
}

export class TerminalWriter {
  constructor(
    term: ITerminalSink,
    timers: ITimers = realTimers,
    now: () => number = () => performance.now()
  ) {
    this._term = term;
    this._timers = timers;
    this._now = now;
    // v1 text goes through the same path, so the order of chunks is known.
    this._flow = new FlowWriter((data, suppress, done) =>
      this._direct(data, suppress, done)
    );
  }

  /**
   * Whether the chunk xterm parses now (the oldest not yet parsed: xterm
   * parses in order and calls each callback right after its chunk) is a
   * replay or a preamble, whose queries must not be answered.
   */
  get suppressReplies(): boolean {
    return this._chunks.length > 0 && this._chunks[0];
  }

  /** Whether the tab is out of sight, so its output is paced (see above). */
  get background(): boolean {
    return this._background;
  }

  set background(value: boolean) {
    this._background = value;
    if (!value && this._rest !== null) {
      this._timers.clearTimeout(this._rest);
      this._rest = null;
    }
    this._pump();
  }

  /** Bytes or characters held here for a paced tab (at most its credit window on v2). */
  get held(): number {
    return this._held.reduce((n, s) => n + s.part.length, 0);
  }

  /** Write one chunk of session output; `chunk.done` runs once xterm parsed it. */
  write(chunk: IOutputChunk): void {
    if (typeof chunk.data !== 'string') {
      this._direct(chunk.data, chunk.replay, chunk.done);
      return;
    }
    // v1: a replay repeats what is still queued, so drop that and reset in-stream,
    // once per replay: its later frames (and the modes preamble its first one may be)
    // build on what came before them.
    // Replayed text is written with its queries unanswered, as on v2: a v1 server blanks
    // them in its replays, but a page's own copy of live output (transcript.ts) holds them.
    if (chunk.replay && !this._v1Replaying) {
      this._flow.clearQueued();
      this._flow.write(FULL_RESET + chunk.data, true);
    } else {
      this._flow.write(chunk.data, chunk.replay);
    }
    this._v1Replaying = chunk.replay;
    chunk.done();
  }

  /** The session was (re-)attached: a v1 replay that follows starts a new screen. */
  attached(): void {
    this._v1Replaying = false;
  }

  /** Draw from scratch: reset, then the preamble (modes), replies dropped. */
  reset(preamble: string): void {
    this._flow.clearQueued();
    this._direct(FULL_RESET + preamble, true, noop);
  }

  /** A line of our own (exit, notices), after the output already written. */
  notice(text: string): void {
    const line = `\r\n\x1b[2m[${text}]\x1b[0m\r\n`;
    if (this._flow.queued > 0) {
      this._flow.write(line);
    } else {
      this._direct(line, false, noop);
    }
  }

  /**
   * The terminal goes away: complete what it will never parse, so the credit
   * of a session another tab still shows is not held forever.
   */
  dispose(): void {
    this._disposed = true;
    this._held = [];
    if (this._rest !== null) {
      this._timers.clearTimeout(this._rest);
      this._rest = null;
    }
    const pending = [...this._pending];
    this._pending.clear();
    pending.forEach(done => done());
  }

  private _direct(
    data: string | Uint8Array,
    suppress: boolean,
    done: () => void
  ): void {
    if (this._disposed) {
      done();
      return;
    }
    this._pending.add(done);
    // xterm.js parses each written chunk whole, in one task: on a slow page one large frame
    // is one long task that the foreground tab's echo waits behind. Slices (views, no copy)
    // let xterm yield between them.
    const slices = slice(data);
    const last = slices.length - 1;
    slices.forEach((part, i) => {
      this._held.push({
        part,
        suppress,
        parsed: () => {
          if (i === last && this._pending.delete(done)) {
            done();
          }
        }
      });
    });
    this._pump();
  }

  /** Hand held slices to xterm: all of them in front, one per rest behind. */
  private _pump(): void {
    // v1 text is never paced: a v1 server cannot be slowed by credit, it would only pile up.
    while (
      this._held.length > 0 &&
      !(
        this._background &&
        typeof this._held[0].part !== 'string' &&
        (this._parsing > 0 || this._rest !== null)
      )
    ) {
      const { part, suppress, parsed } = this._held.shift()!;
      const start = this._now();
      this._chunks.push(suppress);
      this._parsing++;
      this._term.write(part, () => {
        // xterm parsed exactly this slice: the next one is at the head now.
        this._chunks.shift();
        this._parsing--;
        if (suppress) {
          // A redraw after a reset shrinks the scroll area: the browser's scroll event for
          // that comes late, when xterm has parsed far on, and xterm takes it for the user
          // scrolling to the top and stays there. Nobody scrolls a redraw: keep the end in view.
          this._term.scrollToBottom?.();
        }
        parsed();
        if (this._background && !this._disposed && typeof part !== 'string') {
          this._restFor(this._now() - start);
        }
      });
    }
  }

  private _restFor(took: number): void {
    if (this._rest !== null) {
      return;
    }
    const [least, most] = BACKGROUND_REST_MS;
    const ms = Math.min(most, Math.max(least, took * BACKGROUND_REST));
    this._rest = this._timers.setTimeout(() => {
      this._rest = null;
      this._pump();
    }, ms);
  }

  private readonly _term: ITerminalSink;
  private readonly _timers: ITimers;
  private readonly _now: () => number;
  /** Slices not handed to xterm yet (only ever non-empty while paced). */
  private _held: Array<{
    part: string | Uint8Array;
    suppress: boolean;
    parsed: () => void;
  }> = [];
  private _background = false;
  private _parsing = 0;
  private _rest: unknown = null;
  private readonly _flow: FlowWriter;
  /** Whether each chunk handed to xterm and not yet parsed is replayed. */
  private readonly _chunks: boolean[] = [];
  private _disposed = false;
  /** v1: the last text chunk was replayed (a replay resets only at its first chunk). */
  private _v1Replaying = false;
  private readonly _pending = new Set<() => void>();
}

/** Bytes per xterm write: about 10 ms of parsing on a page slowed 8x. */
export const WRITE_SLICE = 4096;

/** `data` in slices of at most WRITE_SLICE bytes (subarray views; strings stay whole). */
export function slice(data: string | Uint8Array): Array<string | Uint8Array> {
  if (typeof data === 'string' || data.length <= WRITE_SLICE) {
    return [data];
  }
  const parts: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += WRITE_SLICE) {
    parts.push(data.subarray(at, at + WRITE_SLICE));
  }
  return parts;
}

function noop(): void {
  return;
}
