/**
 * What is saved of a panel to restore it after a reload, and reading it
 * back. Only what a reload restores is saved: the tabs, their labels and
 * modes, the layout, the zoom, and each tab's shell incarnation (so a reload
 * can tell a new shell under the name). Nothing in it moves while output
 * flows: a stream offset would restore nothing, since a reloaded page draws
 * each tab from the server's replay.
 */
import { SavedArea } from './layout';
import { AttachMode } from '../protocol/protocol';
import { IResumePoint } from '../tokens';

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
  /** The current tab's index in `tabs` (a session may have a tab in two panes). */
  currentIndex?: number;
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

/** What a tab is opened with: its session, label, mode and the shell it showed. */
export interface ITabSpec {
  sessionId: string;
  label?: string;
  renamed?: boolean;
  resume?: IResumePoint | null;
  mode?: AttachMode;
}

/** How to reopen a saved tab. */
export function savedTab(tab: ITabState): ITabSpec {
  return {
    sessionId: tab.sessionId,
    label: tab.label,
    renamed: tab.renamed === true,
    resume: resumeOf(tab),
    mode: tab.mode === 'view' ? 'view' : 'write'
  };
}

/** The panel's zoom after `step` (+1, −1, 0 resets), keeping the font within 6–72 px. */
export function nextZoom(fontSize: number, zoom: number, step: number): number {
  const next = step === 0 ? 0 : zoom + step;
  return Math.max(6 - fontSize, Math.min(72 - fontSize, next));
}

/**
 * Which of the restored tabs (their sessions, in saved order) was current:
 * the saved index while it still names the saved session, else the first
 * tab of that session (a state saved before the index was), else none (-1).
 */
export function currentIndex(
  state: Pick<IPanelState, 'current' | 'currentIndex'>,
  sessions: readonly string[]
): number {
  const i = state.currentIndex;
  if (typeof i === 'number' && sessions[i] === state.current) {
    return i;
  }
  return state.current === null ? -1 : sessions.indexOf(state.current);
}
