/**
 * Reconnect timing: randomized exponential backoff ("full jitter"), as
 * JupyterLab's own terminal and kernel connections do, so that many pages
 * dropped by one server restart do not reconnect in lock-step.
 */

export interface IBackoffOptions {
  /** Base delay in ms; attempt n waits a random time in [0, base·(2ⁿ − 1)]. */
  baseMs: number;
  /** Upper bound of any single delay in ms. */
  maxMs: number;
  /** Attempts before giving up (status becomes `closed`); `Infinity` for never. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: IBackoffOptions = {
  baseMs: 500,
  maxMs: 10_000,
  maxAttempts: 12
};

/**
 * Delay in ms before reconnect attempt `attempt` (0-based). The first attempt
 * is immediate; `random` returns a number in [0, 1).
 */
export function backoffDelay(
  attempt: number,
  options: IBackoffOptions = DEFAULT_BACKOFF,
  random: () => number = Math.random
): number {
  if (attempt <= 0) {
    return 0;
  }
  const ceiling = Math.min(
    options.maxMs,
    options.baseMs * (Math.pow(2, attempt) - 1)
  );
  return Math.floor(random() * (ceiling + 1));
}
