/**
 * Typed input on its way to a session: straight to the socket while the
 * session is attached, else kept (pendingInput.ts) and sent after the next
 * attach the way a paste is sent (paste.ts: chunked, each chunk confirmed
 * by the server), before anything typed later. Kept input never reaches
 * another shell: an attach that reveals one discards it, and the tabs say so.
 */
import { sendConfirmed } from './confirm';
import { IMuxCore } from './core';
import { IPasteHost, sendChunked } from './paste';
import { SessionRecord } from './sessions';

export class InputSender {
  constructor(private readonly _core: IMuxCore) {}

  /** Send keystrokes now if attached and nothing kept is still on its way, else keep them. */
  send(record: SessionRecord, data: string): void {
    if (record.mode === 'view') {
      return; // a view types nothing (the server would answer read-only)
    }
    const core = this._core;
    const clear = record.flush === null && record.input.empty;
    if (record.state === 'attached' && core.ready && clear) {
      core.send({ type: 'terminal.input', sessionId: record.sessionId, data });
    } else {
      record.input.push(data);
    }
  }

  /** The session was (re-)attached: drop kept input if the shell is another one. */
  attached(record: SessionRecord, newShell: boolean): void {
    if (!newShell) {
      return;
    }
    const inFlight = record.flush?.chars ?? 0;
    record.flush = null; // its remaining chunks are not sent
    record.input.discard(inFlight + record.input.take().length, 'new-shell');
  }

  /** Send the kept input, chunk by confirmed chunk; what is typed meanwhile follows it. */
  flush(record: SessionRecord): void {
    const core = this._core;
    if (
      record.flush !== null ||
      record.input.empty ||
      record.state !== 'attached' ||
      !core.ready
    ) {
      return;
    }
    const text = record.input.take();
    const flush = { chars: text.length };
    record.flush = flush;
    // Superseded when the socket closes (SessionTable.resetAll counts the
    // unconfirmed rest) or the session ends or becomes another shell.
    const current = (): boolean =>
      record.flush === flush && core.table.isCurrent(record);
    const host: IPasteHost = {
      send: async chunk => {
        if (!current()) {
          throw new Error('superseded');
        }
        const ping = (): Promise<void> => core.ping();
        const taken = await sendConfirmed(core, record.sessionId, chunk, ping);
        if (taken) {
          flush.chars -= chunk.length;
        }
        return taken;
      },
      wait: ms =>
        new Promise<void>(resolve => core.timers.setTimeout(resolve, ms))
    };
    sendChunked(text, host).then(
      () => {
        if (record.flush === flush) {
          record.flush = null;
          this.flush(record); // typed while this was on its way
        }
      },
      () => {
        // Refused for good (or superseded: then whoever ended it counted the rest).
        if (record.flush === flush) {
          record.flush = null;
          record.input.discard(flush.chars, 'unconfirmed');
        }
      }
    );
  }
}
