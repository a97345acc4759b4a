/**
 * A tab's status where the page shows it: its label and marks in the tab bar
 * (tabTitle.ts), followed from the program (its title, OSC 0/2, and its bell),
 * and its state on the tab's node (`data-state`, `data-exit`) for styles and tests.
 */
import { Title, Widget } from '@lumino/widgets';
import { Terminal } from '@xterm/xterm';

import { trans } from '../i18n';
import { TabLabel, TabState } from './tabTitle';

export class TabStatus extends TabLabel {
  /** The status of `tab` (its node and title), showing session `sessionId`. */
  constructor(
    tab: Widget,
    private readonly _sessionId: string,
    label: string | undefined,
    renamed: boolean
  ) {
    const t = trans();
    super(tab.title, label ?? t.__('Terminal %1', _sessionId), renamed);
    this._node = tab.node;
    this._tabTitle = tab.title;
    this._node.dataset.sessionId = _sessionId;
    // Lumino renders the title's dataset on the tab: the tab bar's context menu finds the tab by it.
    this._tabTitle.dataset = { 'termmux-tab': tab.id };
    this._tabTitle.caption = t.__('Session %1', _sessionId);
    this._tabTitle.closable = true;
    this.state = 'attaching';
  }

  get state(): TabState {
    return super.state;
  }

  set state(value: TabState) {
    super.state = value;
    this._node.dataset.state = value;
  }

  /** The session's name now belongs to a new shell (the old one ended while away). */
  newShell(): void {
    this._node.dataset.newShell = 'true';
    this._tabTitle.caption = trans().__(
      'Session %1 (a new shell under the same name)',
      this._sessionId
    );
  }

  exited(exitCode: number | null, signal?: string): void {
    super.exited(exitCode, signal);
    this._node.dataset.state = 'exited';
    this._node.dataset.exit = signal ?? String(exitCode);
  }

  /** Follow `term`'s title (unless renamed or `followTitle()` is off) and mark a bell rung out of sight. */
  follow(
    term: Terminal,
    inSight: () => boolean,
    followTitle: () => boolean
  ): void {
    term.onTitleChange(title => this.programTitle(title, followTitle()));
    term.onBell(() => {
      if (!inSight()) {
        this.bell = true;
      }
    });
  }

  private readonly _node: HTMLElement;
  private readonly _tabTitle: Title<Widget>;
}
