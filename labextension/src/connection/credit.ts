/**
 * v2 flow-control credit (PROTOCOL.md "Flow control"): count, per channel,
 * the payload bytes xterm.js has parsed; return them with an `ack` once
 * `ackBytes` accumulated, and the remainder as soon as the channel has no
 * write in flight, so small outputs never pin credit. One counter per socket:
 * channels are numbered per socket, so a late callback of an old socket's
 * frame can never credit a new socket's channel.
 */
import { SCHEMA } from '../protocol/schemaData';

export type AckSink = (channel: number, bytes: number) => void;

/** Default batch when `hello` announces none (the protocol's default, schema.json). */
export const DEFAULT_ACK_BYTES: number = SCHEMA.defaults.ackBytes;

export class CreditCounter {
  constructor(ackBytes: number, send: AckSink) {
    this._ackBytes = Math.max(1, ackBytes);
    this._send = send;
  }

  /** A frame of `channel` was handed to the terminal(s). */
  begin(channel: number): void {
    const state = this._channels.get(channel);
    if (state === undefined) {
      this._channels.set(channel, { inFlight: 1, parsed: 0 });
    } else {
      state.inFlight++;
    }
  }

  /** That frame, of `bytes` payload bytes, was parsed. */
  done(channel: number, bytes: number): void {
    const state = this._channels.get(channel);
    if (state === undefined || this._closed) {
      return; // released meanwhile: the server forgot the channel
    }
    state.inFlight--;
    state.parsed += bytes;
    if (
      state.parsed > 0 &&
      (state.parsed >= this._ackBytes || state.inFlight === 0)
    ) {
      const n = state.parsed;
      state.parsed = 0;
      this._send(channel, n);
    }
  }

  /** Bytes parsed and not yet acknowledged on `channel` (tests, diagnostics). */
  pending(channel: number): number {
    return this._channels.get(channel)?.parsed ?? 0;
  }

  /** Forget a channel (detached or exited): its late callbacks send nothing. */
  release(channel: number): void {
    this._channels.delete(channel);
  }

  /** The socket is gone: nothing more is sent. */
  close(): void {
    this._closed = true;
    this._channels.clear();
  }

  private readonly _ackBytes: number;
  private readonly _send: AckSink;
  private readonly _channels = new Map<
    number,
    { inFlight: number; parsed: number }
  >();
  private _closed = false;
}
