/** The notes a tab writes into its terminal about its session (pure text). */
import { IDiscardedInput, PENDING_INPUT_MAX } from './pendingInput';
import { IAttachInfo } from './tokens';

/** How the session ended, e.g. "session 3 exited with code 1, killed by SIGTERM". */
export function exitNotice(
  sessionId: string,
  exitCode: number | null,
  signal?: string
): string {
  const code = exitCode === null ? '' : ` with code ${exitCode}`;
  const by = signal === undefined ? '' : `, killed by ${signal}`;
  return `session ${sessionId} exited${code}${by}`;
}

/** What an attach answer means for the reader: a new shell, output lost while away. */
export function attachNotices(info: IAttachInfo): string[] {
  const notes: string[] = [];
  if (info.newShell) {
    notes.push(
      'this is a new shell: the session ended and its name was reused'
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
      `${info.lostBytes} bytes of output from while this tab was away are no longer in the history`
    );
  }
  for (const discarded of info.discardedInput ?? []) {
    notes.push(discardNotice(discarded));
  }
  return notes;
}

/** Why keys typed while disconnected were not sent. */
export function discardNotice({ chars, reason }: IDiscardedInput): string {
  const what = `${chars} characters typed while disconnected`;
  switch (reason) {
    case 'new-shell':
      return `${what} were not sent: the session is now another shell`;
    case 'limit':
      return `${what} were not sent: at most ${PENDING_INPUT_MAX} are kept`;
    case 'unconfirmed':
      return `${what} may not have reached the shell: the connection dropped again before the server confirmed them`;
  }
}
