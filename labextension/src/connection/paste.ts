/**
 * Pasting large text: the text is prepared as xterm.js's own paste does it
 * (newlines to CR, bracketed-paste markers when the program asked for them),
 * then sent in chunks, one at a time, each confirmed by the server. The
 * server queues at most 1 MiB of input per session and refuses a frame past
 * that with `input-overflow` (nothing of it written): the chunk is then sent
 * again after a pause, so a multi-megabyte paste reaches the program whole,
 * in order, while the page stays responsive (terminado has no limit at all:
 * CoffeaTeam/coffea-casa#341).
 */

/** Characters per chunk: at most 3 × 64 Ki UTF-8 bytes, well under the 1 MiB frame limit. */
export const PASTE_CHUNK_CHARS = 64 * 1024;

/** First and longest wait before re-sending a refused chunk. */
export const RETRY_FIRST_MS = 20;
export const RETRY_MAX_MS = 500;

/** What a paste needs from the connection and the clock (tests inject fakes). */
export interface IPasteHost {
  /** Send one chunk; true when the server took it, false on `input-overflow`. */
  send(chunk: string): Promise<boolean>;
  /** Resolve after `ms` milliseconds. */
  wait(ms: number): Promise<void>;
}

/** The text a paste sends: CR line ends, wrapped in ESC[200~ … ESC[201~ when bracketed. */
export function preparePaste(text: string, bracketed: boolean): string {
  const body = text.replace(/\r?\n/g, '\r');
  return bracketed ? `\x1b[200~${body}\x1b[201~` : body;
}

/** Split `text` into chunks of at most `size` UTF-16 units, never inside a surrogate pair. */
export function splitChunks(text: string, size = PASTE_CHUNK_CHARS): string[] {
  const chunks: string[] = [];
  let start = 0;
  while (start < text.length) {
    let end = Math.min(start + size, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) {
      end -= 1; // keep the high surrogate with its low half
    }
    chunks.push(text.slice(start, end));
    start = end;
  }
  return chunks;
}

/** Send `text` chunk by chunk, re-sending a refused chunk after a growing pause. */
export async function sendChunked(
  text: string,
  host: IPasteHost,
  size = PASTE_CHUNK_CHARS
): Promise<{ chunks: number; retries: number }> {
  const chunks = splitChunks(text, size);
  let retries = 0;
  for (const chunk of chunks) {
    let delay = RETRY_FIRST_MS;
    while (!(await host.send(chunk))) {
      retries++;
      await host.wait(delay);
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
  return { chunks: chunks.length, retries };
}

/** How a paste went, for the tab's data attributes (tests read them). */
export interface IPasteReport {
  pasting: boolean;
  chunks?: number;
  retries?: number;
}

/** Show how a paste went on the tab's node (`data-pasting`, `data-paste-chunks`, `-retries`). */
export function reportPaste(node: HTMLElement, r: IPasteReport): void {
  const d = node.dataset;
  d.pasting = String(r.pasting);
  if (r.chunks !== undefined) {
    d.pasteChunks = String(r.chunks);
    d.pasteRetries = String(r.retries ?? 0);
  }
}

/** One tab's pastes, sent one after the other. */
export class PasteQueue {
  constructor(
    private readonly _send: (chunk: string) => Promise<boolean>,
    private readonly _report: (r: IPasteReport) => void
  ) {}

  /** Queue `data` (already prepared); resolves once it is all taken. */
  paste(data: string): Promise<void> {
    const host: IPasteHost = {
      send: chunk => this._send(chunk),
      wait: ms => new Promise<void>(r => setTimeout(r, ms))
    };
    this._report({ pasting: true });
    this._tail = this._tail
      .then(() => sendChunked(data, host))
      .then(r => this._report({ pasting: false, ...r }))
      .catch(e => {
        console.error('termmux: paste failed', e);
        this._report({ pasting: false });
      });
    return this._tail;
  }

  private _tail: Promise<void> = Promise.resolve();
}
