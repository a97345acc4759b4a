/**
 * Keys typed while a session is not attached (a dropped socket, an attach
 * in flight): kept up to a cap, then sent after the re-attach as a paste is
 * (chunked, confirmed), unless the re-attach reveals another shell under the
 * name. Terminal reports (focus, mouse) are never kept: they describe a
 * moment that has passed. Pure bookkeeping, no I/O.
 */

/** Characters of typed input kept while detached; more is discarded (and said). */
export const PENDING_INPUT_MAX = 4096;

/** Why typed input was not sent; the tab's notice says which. */
export type DiscardReason = 'new-shell' | 'limit' | 'unconfirmed';

/** Input that was typed but never sent, and why. */
export interface IDiscardedInput {
  chars: number;
  reason: DiscardReason;
}

/**
 * Whether `data` (one xterm.js `onData` event) is a report the terminal
 * emits on its own rather than a key: focus in/out (`CSI I`, `CSI O`) or a
 * mouse report (X10/normal `CSI M` + 3 bytes, SGR `CSI < … M|m`, urxvt
 * `CSI b ; x ; y M`).
 */
export function isTerminalReport(data: string): boolean {
  return (
    data === '\x1b[I' ||
    data === '\x1b[O' ||
    (data.startsWith('\x1b[M') && data.length === 6) ||
    (data.startsWith('\x1b[') && MOUSE_REPORT.test(data.slice(2)))
  );
}

/** The rest of an SGR (`<b;x;yM` or `m`) or urxvt (`b;x;yM`) mouse report, after `CSI`. */
const MOUSE_REPORT = /^(<\d+;\d+;\d+[Mm]|\d+;\d+;\d+M)$/;

export class PendingInput {
  constructor(readonly max = PENDING_INPUT_MAX) {}

  /** Nothing is waiting to be sent. */
  get empty(): boolean {
    return this._length === 0;
  }

  /** Characters waiting to be sent. */
  get length(): number {
    return this._length;
  }

  /** Keep typed `data` unless it is a report or would pass the cap (then counted as discarded). */
  push(data: string): void {
    if (isTerminalReport(data)) {
      return;
    }
    if (this._length + data.length > this.max) {
      this.discard(data.length, 'limit');
      return;
    }
    this._parts.push(data);
    this._length += data.length;
  }

  /** Everything waiting, in order; the queue is empty afterwards. */
  take(): string {
    const text = this._parts.join('');
    this._parts = [];
    this._length = 0;
    return text;
  }

  /** Count `chars` as not sent for `reason`, to tell the tabs at the next attach. */
  discard(chars: number, reason: DiscardReason): void {
    if (chars <= 0) {
      return;
    }
    const entry = this._discarded.find(d => d.reason === reason);
    if (entry) {
      entry.chars += chars;
    } else {
      this._discarded.push({ chars, reason });
    }
  }

  /** The input discarded since the last call (the tabs are told once). */
  takeDiscarded(): IDiscardedInput[] {
    const discarded = this._discarded;
    this._discarded = [];
    return discarded;
  }

  private _parts: string[] = [];
  private _length = 0;
  private _discarded: IDiscardedInput[] = [];
}
