/**
 * The choices of the panel's two menus: "Attach ▾" lists the server's
 * sessions not open in the panel, "+ New ▾" the server's shell profiles
 * (toolbar.ts opens them).
 */
import type { IProfileInfo, ISessionInfo } from './protocol';
import type { IMenuChoice } from './toolbar';

/** The menus' class names and what each says when it has no choice. */
export const ATTACH_MENU = {
  className: 'jp-TermMux-attachMenu',
  empty: 'No other running terminals'
};
export const PROFILE_MENU = {
  className: 'jp-TermMux-profileMenu',
  empty: 'No profiles'
};

/** One choice per session not in `open`, attaching it. */
export function attachChoices(
  sessions: ISessionInfo[],
  open: ReadonlySet<string>,
  attach: (sessionId: string) => void
): IMenuChoice[] {
  return sessions
    .filter(s => !open.has(s.sessionId))
    .map(s => ({
      label: `Terminal ${s.sessionId}`,
      caption: `${s.clients} client(s) attached`,
      execute: () => attach(s.sessionId)
    }));
}

/** One choice per profile, the default one marked, starting a tab with it. */
export function profileChoices(
  profiles: IProfileInfo[],
  start: (profile: string) => void
): IMenuChoice[] {
  return profiles.map(p => ({
    label: p.default ? `${p.name} (default shell)` : p.name,
    execute: () => start(p.name)
  }));
}
