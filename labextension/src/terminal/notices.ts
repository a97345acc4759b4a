/** The notes a tab writes into its terminal about its session (translated text). */
import { trans } from '../i18n';
import { IDiscardedInput, PENDING_INPUT_MAX } from '../connection/pendingInput';
import { IAttachInfo } from '../tokens';

/** How the session ended, e.g. "session 3 exited with code 1, killed by SIGTERM". */
export function exitNotice(
  sessionId: string,
  exitCode: number | null,
  signal?: string
): string {
  const t = trans();
  if (signal !== undefined) {
    return exitCode === null
      ? t.__('session %1 exited, killed by %2', sessionId, signal)
      : t.__(
          'session %1 exited with code %2, killed by %3',
          sessionId,
          exitCode,
          signal
        );
  }
  return exitCode === null
    ? t.__('session %1 exited', sessionId)
    : t.__('session %1 exited with code %2', sessionId, exitCode);
}

/** Why the tab shows no session: it cannot be attached (gone, refused). */
export function detachNotice(sessionId: string, reason: string): string {
  return trans().__('cannot attach session %1: %2', sessionId, reason);
}

/** What an attach answer means for the reader: a new shell, output lost while away. */
export function attachNotices(info: IAttachInfo): string[] {
  const t = trans();
  const notes: string[] = [];
  if (info.newShell) {
    notes.push(
      t.__('this is a new shell: the session ended and its name was reused')
    );
  }
  if (info.serverRestarted) {
    notes.push(
      info.outputMissing
        ? 'the server restarted and this terminal kept running; output printed while the server was down may be missing'
        : 'the server restarted and this terminal kept running'
    );
  }
  if (info.lostBytes > 0) {
    notes.push(
      t.__(
        '%1 bytes of output from while this tab was away are no longer in the history',
        info.lostBytes
      )
    );
  }
  for (const discarded of info.discardedInput ?? []) {
    notes.push(discardNotice(discarded));
  }
  return notes;
}

/** Why keys typed while disconnected were not sent. */
export function discardNotice({ chars, reason }: IDiscardedInput): string {
  const t = trans();
  switch (reason) {
    case 'new-shell':
      return t.__(
        '%1 characters typed while disconnected were not sent: the session is now another shell',
        chars
      );
    case 'limit':
      return t.__(
        '%1 characters typed while disconnected were not sent: at most %2 are kept',
        chars,
        PENDING_INPUT_MAX
      );
    case 'unconfirmed':
      return t.__(
        '%1 characters typed while disconnected may not have reached the shell: the connection dropped again before the server confirmed them',
        chars
      );
  }
}
