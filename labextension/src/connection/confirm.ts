/**
 * Input whose acceptance the client learns: `terminal.input` has no answer,
 * but a refusal (`input-overflow`, `not-attached`) echoes the input's `id`,
 * and the server handles a socket's frames in order. So the input goes out
 * with an id, a `ping` follows, and the `pong` arriving without a refusal
 * first means the input was queued for the program. Used by paste.ts for
 * large pastes; keystrokes keep the plain, unconfirmed path.
 */
import { IMuxCore } from './core';
import { TermMuxError } from '../protocol/errors';

/** Refusals after which the same input may be sent again later. */
const RETRYABLE = new Set([
  'input-overflow',
  'not-attached',
  'connection-lost'
]);

/** Settles a confirmation entry that the pong made moot (never shown). */
const CONFIRMED = new TermMuxError('confirmed', 'input confirmed');

/**
 * Send `data` to `sessionId`; true once the server took it, false when it
 * refused it for now (send it again later). Other refusals throw.
 */
export async function sendConfirmed(
  core: IMuxCore,
  sessionId: string,
  data: string,
  ping: () => Promise<void>
): Promise<boolean> {
  if (!core.ready) {
    return false;
  }
  let refusal: Error | null = null;
  const id = core.requests.add('Sending input', {
    resolve: () => undefined,
    reject: err => {
      if (err !== CONFIRMED) {
        refusal = err;
      }
    }
  });
  core.send({ type: 'terminal.input', sessionId, data, id });
  try {
    await ping();
  } catch (e) {
    refusal = refusal ?? (e as Error);
  } finally {
    core.requests.fail(id, CONFIRMED);
  }
  if (refusal === null) {
    return true;
  }
  const code = (refusal as Error & { code?: string }).code ?? '';
  if (RETRYABLE.has(code)) {
    return false;
  }
  throw refusal;
}
