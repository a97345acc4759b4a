/**
 * What a tab does with its session's output: writes it to xterm, paced while
 * the tab is out of sight (writer.ts), drops xterm's answers to replayed
 * queries (replies.ts), and tells whether a chunk is news for a background tab.
 */
import { IDisposable } from '@lumino/disposable';
import { Terminal } from '@xterm/xterm';

import { guardReplies } from './replies';
import { IOutputChunk } from '../tokens';
import { TerminalWriter } from './writer';

/** Output this soon after an attach does not mark a background tab as active. */
const ACTIVITY_GRACE_MS = 1000;

export class TabOutput implements IDisposable {
  constructor(term: Terminal) {
    this._writer = new TerminalWriter(term);
    this._replyGuard = guardReplies(
      term.parser,
      () => this._writer.suppressReplies
    );
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether xterm is parsing replayed output (its answers must not reach the program). */
  get suppressReplies(): boolean {
    return this._writer.suppressReplies;
  }

  /** Write at full speed again (the tab came into sight). */
  catchUp(): void {
    this._writer.background = false;
  }

  /** Write `chunk`; returns whether it is news for a tab that is not `visible`. */
  write(chunk: IOutputChunk, visible: boolean): boolean {
    // Paced while no tab of the session is in sight, unless the whole page is hidden: then no
    // tab is in front to protect, and the browser throttles the pacing's timers to 1 per second.
    this._writer.background = !(chunk.seen ?? visible) && !document.hidden;
    this._writer.write(chunk);
    // Output right after (re-)attaching is the shell redrawing, not news.
    const settled = Date.now() - this._attachedAt > ACTIVITY_GRACE_MS;
    return !visible && !chunk.replay && settled;
  }

  /** The session was (re-)attached: its first output is a redraw. */
  attached(): void {
    this._attachedAt = Date.now();
    this._writer.attached(); // a new stream: its replay resets once
  }

  reset(preamble: string): void {
    this._writer.reset(preamble);
  }

  /** A line of the tab's own, in the terminal (how the session ended, why it cannot attach). */
  notice(text: string): void {
    this._writer.notice(text);
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._writer.dispose();
    this._replyGuard.dispose();
  }

  private readonly _writer: TerminalWriter;
  private readonly _replyGuard: IDisposable;
  private _attachedAt = 0;
  private _disposed = false;
}
