/**
 * Client-side flow control for xterm.js writes, after the xterm.js flow-control
 * guide: `term.write(data, callback)` with high/low watermarks. Output beyond
 * the high watermark waits here (coalesced into larger writes) until xterm has
 * parsed enough to drop below the low watermark, so xterm's own write buffer
 * never overflows (it discards data past 50 MB) and the page stays responsive.
 * Nothing is ever dropped; the protocol has no pause message, so the server is
 * held back only by TCP backpressure once this buffer stops draining.
 */

/**
 * Hands `data` to xterm; `suppress`: it is replayed output (or a preamble),
 * whose terminal queries xterm must not answer (writer.ts, replies.ts).
 */
export type WriteSink = (
  data: string,
  suppress: boolean,
  done: () => void
) => void;

export interface IFlowOptions {
  /** Characters handed to xterm but not yet parsed before we start holding back. */
  highWater: number;
  /** Resume handing data to xterm below this many characters in flight. */
  lowWater: number;
  /** Largest single coalesced write. */
  maxChunk: number;
}

export const DEFAULT_FLOW: IFlowOptions = {
  highWater: 256 * 1024,
  lowWater: 64 * 1024,
  maxChunk: 64 * 1024
};

export class FlowWriter {
  constructor(sink: WriteSink, options: IFlowOptions = DEFAULT_FLOW) {
    this._sink = sink;
    this._options = options;
  }

  /** Characters handed to xterm and not yet parsed. */
  get inFlight(): number {
    return this._inFlight;
  }

  /** Characters held here, waiting for xterm to catch up. */
  get queued(): number {
    return this._queuedChars;
  }

  /** Whether writes are being held back. */
  get paused(): boolean {
    return this._paused;
  }

  /** Write `data`; `suppress`: replayed, so its queries go unanswered. */
  write(data: string, suppress = false): void {
    if (data.length === 0) {
      return;
    }
    if (!this._paused && this._queue.length === 0) {
      this._hand(data, suppress);
      if (this._inFlight >= this._options.highWater) {
        this._paused = true;
      }
      return;
    }
    this._queue.push({ data, suppress });
    this._queuedChars += data.length;
  }

  /**
   * Drop what is still held here (not what xterm already has): used before a
   * replay, which contains that output again.
   */
  clearQueued(): void {
    this._queue = [];
    this._queuedChars = 0;
  }

  private _hand(data: string, suppress: boolean): void {
    this._inFlight += data.length;
    this._sink(data, suppress, () => {
      this._inFlight -= data.length;
      if (this._paused && this._inFlight <= this._options.lowWater) {
        this._paused = false;
      }
      this._drain();
    });
  }

  private _drain(): void {
    while (!this._paused && this._queue.length > 0) {
      // Coalesced, but never a replay with live output: each keeps its own flag.
      const suppress = this._queue[0].suppress;
      let chunk = '';
      while (
        this._queue.length > 0 &&
        this._queue[0].suppress === suppress &&
        chunk.length < this._options.maxChunk
      ) {
        chunk += this._queue.shift()!.data;
      }
      this._queuedChars -= chunk.length;
      this._hand(chunk, suppress);
      if (this._inFlight >= this._options.highWater) {
        this._paused = true;
      }
    }
  }

  private readonly _sink: WriteSink;
  private readonly _options: IFlowOptions;
  private _queue: Array<{ data: string; suppress: boolean }> = [];
  private _queuedChars = 0;
  private _inFlight = 0;
  private _paused = false;
}
