/**
 * The choices of the panel's two menus: "Attach ▾" lists the server's
 * sessions not open in the panel, "+ New ▾" the server's shell profiles
 * (toolbar.ts opens them).
 */
import { trans } from '../i18n';
import type { IProfileInfo, ISessionInfo } from '../protocol/protocol';
import type { IMenuChoice } from './toolbar';

/** The menus' class names and what each says when it has no choice. */
export const ATTACH_MENU = {
  className: 'jp-TermMux-attachMenu',
  get empty(): string {
    return trans().__('No other running terminals');
  }
};
export const PROFILE_MENU = {
  className: 'jp-TermMux-profileMenu',
  get empty(): string {
    return trans().__('No profiles');
  }
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
      label: trans().__('Terminal %1', s.sessionId),
      caption: trans().__('%1 client(s) attached', s.clients),
      execute: () => attach(s.sessionId)
    }));
}

/** One choice per profile, the default one marked, starting a tab with it. */
export function profileChoices(
  profiles: IProfileInfo[],
  start: (profile: string) => void
): IMenuChoice[] {
  return profiles.map(p => ({
    label: p.default ? trans().__('%1 (default shell)', p.name) : p.name,
    execute: () => start(p.name)
  }));
}
