/**
 * Sharing a terminal, the pure parts: the read-only link (a JupyterLab URL
 * whose query names the session to open in view mode), reading it back,
 * presence text for a tab, and the recording's URL and file name.
 */
import { AttachMode, ISessionInfo } from '../protocol/protocol';
import { ITermMuxConnection } from '../tokens';
import { ITimers, realTimers } from '../connection/timers';

/** The query parameter of a read-only link: `{baseUrl}lab?termmux-view=NAME`. */
export const VIEW_PARAM = 'termmux-view';

/** Matches the link's query for JupyterLab's router (`router.register`). */
export const VIEW_ROUTE = new RegExp(`[?&]${VIEW_PARAM}=`);

/**
 * Whether this user may start (and shut down) terminals: the `access` of a v2
 * hello includes `write`. Without an access list (v1, an older server) the
 * socket was opened with every right, as before.
 */
export function mayCreate(info: { access?: string[] } | null): boolean {
  return info?.access === undefined || info.access.includes('write');
}

/** Resolves once the connection knows its protocol (and so what this user may do). */
export function protocolKnown(
  connection: Pick<ITermMuxConnection, 'protocol' | 'protocolChanged'>
): Promise<void> {
  return new Promise(resolve => {
    if (connection.protocol !== null) {
      resolve();
      return;
    }
    const check = (): void => {
      if (connection.protocol !== null) {
        connection.protocolChanged.disconnect(check);
        resolve();
      }
    };
    connection.protocolChanged.connect(check);
  });
}

/** The read-only link of `sessionId`, relative to the page's `baseUrl` (absolute, with a trailing slash). */
export function viewLink(baseUrl: string, sessionId: string): string {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return `${base}lab?${VIEW_PARAM}=${encodeURIComponent(sessionId)}`;
}

/** The session a URL's query (`?a=b&termmux-view=NAME`) asks to view, or null. */
export function viewedSession(search: string): string | null {
  const params = new URLSearchParams(
    search.startsWith('?') ? search.slice(1) : search
  );
  const name = params.get(VIEW_PARAM);
  return name === null || name.trim() === '' ? null : name;
}

/** The query with the view parameter removed (so a reload does not open it again). */
export function withoutView(search: string): string {
  const params = new URLSearchParams(
    search.startsWith('?') ? search.slice(1) : search
  );
  params.delete(VIEW_PARAM);
  const rest = params.toString();
  return rest === '' ? '' : `?${rest}`;
}

/**
 * How many others are watching this session: everyone subscribed but this
 * page (which holds one subscription, as a writer or as a viewer).
 */
export function othersWatching(info: ISessionInfo, mode: AttachMode): number {
  const writers = info.writers ?? info.clients;
  const viewers = info.viewers ?? 0;
  const mine = mode === 'view' ? { w: 0, v: 1 } : { w: 1, v: 0 };
  return Math.max(0, writers - mine.w) + Math.max(0, viewers - mine.v);
}

/** What presence needs of a tab. */
export interface IWatchedTab {
  readonly sessionId: string;
  readonly mode: AttachMode;
  /** Others watching its session. */
  watchers: number;
}

/** Update every tab's count of others watching its session (one `session.list`). */
export async function refreshPresence(
  connection: Pick<ITermMuxConnection, 'status' | 'listSessions'>,
  tabs: readonly IWatchedTab[]
): Promise<void> {
  if (tabs.length === 0 || connection.status !== 'connected') {
    return;
  }
  const sessions = await connection.listSessions();
  const byId = new Map(sessions.map(s => [s.sessionId, s]));
  for (const tab of tabs) {
    const info = byId.get(tab.sessionId);
    tab.watchers = info === undefined ? 0 : othersWatching(info, tab.mode);
  }
}

/** The tab bar's presence mark: `👁 3`, or nothing when alone. */
export function presenceMark(others: number): string {
  return others > 0 ? `👁 ${others}` : '';
}

/** The session's asciicast v2 recording, relative to the server's base URL. */
export function castPath(sessionId: string): string {
  return `api/termmux/sessions/${encodeURIComponent(sessionId)}/cast`;
}

/** The file name a downloaded recording is saved as. */
export function castFileName(sessionId: string): string {
  const safe = sessionId.replace(/[^A-Za-z0-9._-]/g, '_');
  return `${safe}.cast`;
}

/** How often an in-sight panel asks who watches its sessions (one `session.list`). */
export const PRESENCE_POLL_MS = 5000;

/** Runs `poll` every PRESENCE_POLL_MS while `inSight()`, one at a time; failures are ignored. */
export class PresencePoller {
  constructor(
    private readonly _inSight: () => boolean,
    private readonly _poll: () => Promise<void>,
    private readonly _timers: ITimers = realTimers,
    private readonly _intervalMs = PRESENCE_POLL_MS
  ) {
    this._schedule();
  }

  /** One round: skipped when out of sight or while the previous one runs. */
  tick(): void {
    if (this._busy || !this._inSight()) {
      return;
    }
    this._busy = true;
    void this._poll()
      .catch(() => undefined) // presence is a hint: a refused or lost list just waits for the next round
      .finally(() => {
        this._busy = false;
      });
  }

  dispose(): void {
    if (this._timer !== null) {
      this._timers.clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _schedule(): void {
    this._timer = this._timers.setTimeout(() => {
      this.tick();
      this._schedule();
    }, this._intervalMs);
  }

  private _timer: unknown = null;
  private _busy = false;
}
