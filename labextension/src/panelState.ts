/** What is saved of a panel to restore it after a reload, and reading it back. */
import { SavedArea } from './layout';
import { IResumePoint } from './tokens';

/** One saved tab: its session, label and (v2) where its stream stood. */
export interface ITabState {
  sessionId: string;
  label: string;
  renamed?: boolean;
  /** A read-only tab (absent: a writing one). */
  mode?: 'view';
  offset?: number;
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

/** The saved resume point of a tab, if both parts are there and sane. */
export function resumeOf(tab: ITabState): IResumePoint | null {
  const { offset, incarnation } = tab;
  if (
    typeof offset !== 'number' ||
    !Number.isSafeInteger(offset) ||
    offset < 0
  ) {
    return null;
  }
  return typeof incarnation === 'string' ? { offset, incarnation } : null;
}
