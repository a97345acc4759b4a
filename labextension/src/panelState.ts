/**
 * What is saved of a panel to restore it after a reload, and reading it
 * back. Only what a reload restores is saved: the tabs, their labels and
 * modes, the layout, the zoom, and each tab's shell incarnation (so a reload
 * can tell a new shell under the name). Nothing in it moves while output
 * flows: a stream offset would restore nothing, since a reloaded page draws
 * each tab from the server's replay.
 */
import { SavedArea } from './layout';
import { AttachMode } from './protocol';
import { IResumePoint } from './tokens';

/** One saved tab: its session, label, mode and (v2) the shell it showed. */
export interface ITabState {
  sessionId: string;
  label: string;
  renamed?: boolean;
  /** A read-only tab (absent: a writing one). */
  mode?: 'view';
  /** The life of the terminal the tab showed (v2). */
  incarnation?: string;
}

/** What is saved to restore a panel after a reload. */
export interface IPanelState {
  tabs: ITabState[];
  current: string | null;
  /** The split layout, by session id. */
  layout?: SavedArea | null;
  /** Font zoom of the panel, in pixels. */
  zoom?: number;
}

/** What a tab offers to be saved. */
export interface ISavableTab {
  readonly sessionId: string;
  readonly label: string;
  readonly renamed: boolean;
  readonly mode: AttachMode;
  readonly resumePoint: IResumePoint | null;
}

/** The saved form of a tab. */
export function tabState(tab: ISavableTab): ITabState {
  const incarnation = tab.resumePoint?.incarnation;
  return {
    sessionId: tab.sessionId,
    label: tab.label,
    ...(tab.renamed ? { renamed: true } : {}),
    ...(tab.mode === 'view' ? { mode: 'view' as const } : {}),
    ...(incarnation !== undefined ? { incarnation } : {})
  };
}

/** The shell a saved tab showed, to recognise a new one under its name. */
export function resumeOf(tab: ITabState): IResumePoint | null {
  const { incarnation } = tab;
  return typeof incarnation === 'string' && incarnation !== ''
    ? { incarnation }
    : null;
}
