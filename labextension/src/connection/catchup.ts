/**
 * Catching up instead of replaying a flood into a tab nobody sees.
 *
 * While no tab of a session is in sight, its output is drawn paced
 * (writer.ts). Past `SKIP_AFTER` bytes out of sight, the page stops drawing:
 * frames are acknowledged as they arrive and not written to xterm.js, so the
 * program runs at full speed (as in a tmux window nobody looks at) and the
 * page spends no time on output no one reads. The session's offset stays
 * where its tabs' screens stopped; once a tab is shown, the session is
 * attached again `since` that offset, and the server sends what its history
 * still holds after it (all of it, or, when history moved past it, a reset,
 * the mode preamble and its last `history_limit` bytes). Catching up is
 * bounded by the server's history (512 KiB by default), not by the flood.
 *
 * The cost, for a flood into a hidden tab: its scrollback keeps only what the
 * server's history holds, and the tab says how many bytes it lost; a bell or
 * a title in the undrawn output is not seen. Output under `SKIP_AFTER` while
 * out of sight is drawn as before (paced, writer.ts).
 */

/**
 * Bytes a session's tabs draw while out of sight before they stop drawing.
 * Drawing is only deferred, not lost, while the server's history (512 KiB by
 * default) still holds the output since: the catch-up sends all of it. So the
 * limit only keeps a quiet tab's small outputs (a bell, a title, a prompt)
 * live, and is small: xterm.js's DOM renderer redraws every row of a hidden
 * terminal on each scroll (its selection refresh ignores the renderer's pause),
 * which on a page slowed 8x made tasks of 100-230 ms while a flood was drawn
 * out of sight.
 */
export const SKIP_AFTER = 64 * 1024;

/** One session's catch-up state on this page (pure: no I/O, no clock). */
export class CatchUp {
  constructor(private readonly _skipAfter: number = SKIP_AFTER) {}

  /** Whether output is being acknowledged without being drawn. */
  get skipping(): boolean {
    return this._skipping;
  }

  /** Bytes received out of sight since a tab of the session was last in sight. */
  get unseen(): number {
    return this._unseen;
  }

  /**
   * `bytes` of output arrived; `seen`: a tab of the session is in sight.
   * Returns whether to skip them (acknowledge, draw nothing).
   */
  arrive(bytes: number, seen: boolean): boolean {
    if (seen) {
      // Shown meanwhile: `shown()` asks for the catch-up; until its answer
      // restarts the stream, the old stream is still skipped (its frames
      // follow the ones already dropped, so drawing them would garble).
      this._unseen = 0;
      return this._skipping;
    }
    if (this._skipping) {
      return true;
    }
    this._unseen += bytes;
    this._skipping = this._unseen > this._skipAfter;
    return this._skipping;
  }

  /** A tab of the session came into sight: whether it must catch up (re-attach). */
  shown(): boolean {
    this._unseen = 0;
    return this._skipping;
  }

  /** The stream restarted (any attach answer): draw everything again. */
  restart(): void {
    this._skipping = false;
    this._unseen = 0;
  }

  private _skipping = false;
  private _unseen = 0;
}
