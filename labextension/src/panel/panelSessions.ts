/**
 * What the panel asks of the server's sessions: the options of a new tab's
 * session, shutting a session down (one already gone is fine), and saying
 * that such an action failed.
 */
import { showErrorMessage } from '@jupyterlab/apputils';

import { trans } from '../i18n';
import { Placement } from './panes';
import { ICreateOptions, ITermMuxConnection } from '../tokens';

/** Options of a new tab: where its session starts and where the tab goes. */
export interface INewTabOptions {
  cwd?: string;
  profile?: string;
  placement?: Placement;
}

/**
 * The options of a new session: its folder and profile, and the size of
 * the terminal beside it, so the program does not redraw its first screen
 * when the new tab reports its size.
 */
export function createOptions(
  cwd: string | undefined,
  profile: string | undefined,
  beside: { rows: number; cols: number } | undefined
): ICreateOptions {
  return {
    ...(cwd !== undefined ? { cwd } : {}),
    ...(profile !== undefined ? { profile } : {}),
    ...(beside ? { rows: beside.rows, cols: beside.cols } : {})
  };
}

/** Terminate a session; one the server no longer knows counts as done. */
export async function shutdownSession(
  connection: ITermMuxConnection,
  sessionId: string
): Promise<void> {
  try {
    await connection.closeSession(sessionId);
  } catch (e) {
    if (!(e instanceof Error && 'code' in e && e.code === 'unknown-session')) {
      throw e;
    }
  }
}

/** Say that an action failed (a refusal, a timeout, a lost connection). */
export function reportFailure(e: unknown): void {
  console.error('termmux:', e);
  void showErrorMessage(trans().__('Terminal multiplexer'), e as Error);
}
