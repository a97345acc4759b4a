/** Errors a termmux request can end with. */

/** A refusal (`error` frame), a timeout or a lost connection. */
export class TermMuxError extends Error {
  constructor(
    /** The server's error code, or `timeout` / `connection-lost` / `invalid-answer`. */
    readonly code: string,
    message: string,
    readonly sessionId?: string
  ) {
    super(message);
    this.name = 'TermMuxError';
  }
}
