/**
 * v1: a copy of what a session's tabs were given since their screens last
 * started, so a tab joining a session already drawn on this page is drawn
 * from it at once. A v1 server replays once per socket (a second attach is
 * answered without a replay) and its output carries no offsets, so the page
 * cannot ask it for the screen without redrawing every tab; the copy needs
 * nothing new on the wire and leaves the drawn tabs as they are.
 *
 * Tabs start a new screen at the first chunk of a replay (writer.ts resets
 * there), so the copy restarts there too. Past `V1_TRANSCRIPT_CHARS` it is
 * dropped: a tab joining then is drawn, with the others, from the server's
 * replay (attacher.ts), which holds the server's history and the modes the
 * program is in.
 */
import { SCHEMA } from '../protocol/schemaData';

/**
 * Characters kept per session: twice the server's default history, the most
 * a v1 replay draws, so a full replay plus as much live output again still
 * draws a joining tab from the copy (past it, every tab of the session is
 * redrawn from a new replay). Up to about 2 MB of memory per v1 session
 * shown (UTF-16); v2 keeps no copy.
 */
export const V1_TRANSCRIPT_CHARS = 2 * SCHEMA.defaults.historyLimit;

/** What the tabs of one v1 session were given since their screens started (pure). */
export class Transcript {
  constructor(private readonly _limit: number = V1_TRANSCRIPT_CHARS) {}

  /** An attach answer: a replay that follows starts a new screen. */
  restart(): void {
    this._replaying = false;
  }

  /** Text handed to every drawn tab; `replay`: it is replayed history. */
  add(data: string, replay: boolean): void {
    if (replay && !this._replaying) {
      this._chunks = [];
      this._length = 0;
      this._whole = true;
    }
    this._replaying = replay;
    if (!this._whole) {
      return;
    }
    this._chunks.push(data);
    this._length += data.length;
    if (this._length > this._limit) {
      this.lose();
    }
  }

  /** The tabs were given output this copy does not hold (too much, or v2 bytes). */
  lose(): void {
    if (!this._whole) {
      return; // already lost (every v2 frame says so)
    }
    this._chunks = [];
    this._length = 0;
    this._whole = false;
  }

  /** What draws the tabs' screen on a fresh terminal, or null when not held. */
  text(): string | null {
    if (!this._whole) {
      return null;
    }
    const text = this._chunks.join('');
    this._chunks = text === '' ? [] : [text];
    return text;
  }

  private _chunks: string[] = [];
  private _length = 0;
  /** Whether the chunks start at a fresh screen (a new record's tabs are blank). */
  private _whole = true;
  private _replaying = false;
}
