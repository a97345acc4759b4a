/**
 * Shell profiles for the UI: the "+ New ▾" menu and the launcher tiles. A
 * server that does not know `profile.list` (older than profiles) answers
 * `unknown-type`: the menu is then hidden and no tiles are added.
 */
import { TermMuxError } from '../protocol/errors';
import { IProfileInfo } from '../protocol/protocol';
import { ITermMuxConnection } from '../tokens';

/** The server's profiles, or null when it does not know `profile.list`. */
export async function profilesOrNull(
  connection: Pick<ITermMuxConnection, 'listProfiles'>
): Promise<IProfileInfo[] | null> {
  try {
    return await connection.listProfiles();
  } catch (e) {
    if (e instanceof TermMuxError && e.code === 'unknown-type') {
      return null;
    }
    throw e;
  }
}

/** The default profile first, then the others in the server's order. */
export function sortProfiles(profiles: IProfileInfo[]): IProfileInfo[] {
  return [
    ...profiles.filter(p => p.default),
    ...profiles.filter(p => !p.default)
  ];
}
