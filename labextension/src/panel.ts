/**
 * The termmux panel: a tab bar with one terminal per session, a "+" that
 * creates a session, an "Attach" menu listing the server's other sessions and
 * the state of the page's connection.
 */
import { showErrorMessage } from '@jupyterlab/apputils';
import { ISignal, Signal } from '@lumino/signaling';
import { BoxPanel, TabPanel, Widget } from '@lumino/widgets';

import { TerminalConfig } from './config';
import { TerminalTab } from './terminal';
import { IResumePoint, ITermMuxConnection } from './tokens';
import { openChoiceMenu, PanelToolbar } from './toolbar';

/** One saved tab: its session, label and (v2) where its stream stood. */
export interface ITabState {
  sessionId: string;
  label: string;
  offset?: number;
  incarnation?: string;
}

/** What is saved to restore a panel after a reload. */
export interface IPanelState {
  tabs: ITabState[];
  current: string | null;
}

export class TermMuxPanel extends BoxPanel {
  constructor(options: TermMuxPanel.IOptions) {
    super({ direction: 'top-to-bottom', spacing: 0 });
    this.id = options.id;
    this.addClass('jp-TermMux-panel');
    this.title.label = 'Terminals';
    this.title.caption = 'Terminal multiplexer (one connection for all tabs)';
    this.title.closable = true;
    if (options.icon) {
      this.title.icon = options.icon;
    }
    this._connection = options.connection;
    this._config = options.config;
    this._cwd = options.cwd;

    this._toolbar = new PanelToolbar({
      connection: this._connection,
      onNew: () => void this.newTab().catch(Private.report),
      onNewMenu: anchor =>
        void this.showProfileMenu(anchor).catch(Private.report),
      onAttach: anchor => void this.showAttachMenu(anchor).catch(Private.report)
    });

    this._tabs = new TabPanel({ tabsMovable: true, addButtonEnabled: true });
    this._tabs.addClass('jp-TermMux-tabs');
    this._tabs.tabBar.insertBehavior = 'select-tab';
    this._tabs.addRequested.connect(
      () => void this.newTab().catch(Private.report)
    );
    this._tabs.currentChanged.connect(this._onCurrentChanged, this);
    this._tabs.tabBar.tabMoved.connect(() => this._stateChanged.emit(), this);

    BoxPanel.setStretch(this._toolbar, 0);
    BoxPanel.setStretch(this._tabs, 1);
    this.addWidget(this._toolbar);
    this.addWidget(this._tabs);

    this._connection.statusChanged.connect(this._onStatus, this);
    this._onStatus();
  }

  /** Emitted when tabs are added, removed, moved, renamed or switched. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /** The open tabs in tab-bar order. */
  get tabs(): TerminalTab[] {
    return this._tabs.widgets.filter(
      (w): w is TerminalTab => w instanceof TerminalTab
    );
  }

  get currentTab(): TerminalTab | null {
    const w = this._tabs.currentWidget;
    return w instanceof TerminalTab ? w : null;
  }

  get state(): IPanelState {
    return {
      tabs: this.tabs.map(t => ({
        sessionId: t.sessionId,
        label: t.title.label,
        ...(t.resumePoint ?? {})
      })),
      current: this.currentTab?.sessionId ?? null
    };
  }

  /** Reopen saved tabs (their sessions' recent output is replayed on attach). */
  restore(state: IPanelState): void {
    for (const tab of state.tabs) {
      const resume = Private.resumeOf(tab);
      this.openSession(tab.sessionId, tab.label, false, resume);
    }
    const current = this.tabs.find(t => t.sessionId === state.current);
    if (current) {
      this._tabs.currentWidget = current;
    }
  }

  /** Create a session (with a shell profile, if given), then attach it in a new tab. */
  async newTab(profile?: string): Promise<TerminalTab> {
    // Start the program at the size of the terminal beside it, so it does not redraw
    // its first screen when the new tab reports its size.
    const current = this.currentTab?.terminal;
    const sessionId = await this._connection.createSession({
      ...(this._cwd !== undefined ? { cwd: this._cwd } : {}),
      ...(current ? { rows: current.rows, cols: current.cols } : {}),
      ...(profile !== undefined ? { profile } : {})
    });
    return this.openSession(sessionId);
  }

  /** Show an existing session in this panel (activating its tab if already open). */
  openSession(
    sessionId: string,
    label?: string,
    activate = true,
    resume: IResumePoint | null = null
  ): TerminalTab {
    let tab = this.tabs.find(t => t.sessionId === sessionId);
    if (!tab) {
      tab = new TerminalTab({
        sessionId,
        label,
        resume,
        connection: this._connection,
        config: this._config
      });
      tab.gone.connect(this._onTabGone, this);
      tab.resumeChanged.connect(() => this._stateChanged.emit(), this);
      tab.disposed.connect(() => this._stateChanged.emit(), this);
      tab.title.changed.connect(() => this._stateChanged.emit(), this);
      this._tabs.addWidget(tab);
    }
    if (activate) {
      this._tabs.currentWidget = tab;
      tab.activate();
    }
    this._stateChanged.emit();
    return tab;
  }

  /** Close a tab: detach only, the session keeps running. */
  closeTab(tab: TerminalTab | null = this.currentTab): void {
    tab?.close();
  }

  /** Terminate a tab's session and remove the tab. */
  async shutdownTab(tab: TerminalTab | null = this.currentTab): Promise<void> {
    if (!tab) {
      return;
    }
    try {
      await this._connection.closeSession(tab.sessionId);
    } catch (e) {
      if (!(
        e instanceof Error &&
        'code' in e &&
        e.code === 'unknown-session'
      )) {
        throw e;
      }
    }
    tab.dispose();
  }

  /** Select the next (+1) or previous (−1) tab, wrapping around. */
  cycleTab(step: 1 | -1): void {
    const n = this._tabs.widgets.length;
    if (n === 0) {
      return;
    }
    const index = (this._tabs.currentIndex + step + n) % n;
    this._tabs.currentIndex = index;
    this.currentTab?.activate();
  }

  /** Give the current tab a new label. */
  renameTab(label: string, tab: TerminalTab | null = this.currentTab): void {
    if (tab && label.trim() !== '') {
      tab.title.label = label.trim();
    }
  }

  /** Show the server's sessions not open in this panel, to attach one. */
  async showAttachMenu(anchor: HTMLElement): Promise<void> {
    const sessions = await this._connection.listSessions();
    const open = new Set(this.tabs.map(t => t.sessionId));
    const choices = sessions
      .filter(s => !open.has(s.sessionId))
      .map(s => ({
        label: `Terminal ${s.sessionId}`,
        caption: `${s.clients} client(s) attached`,
        execute: () => void this.openSession(s.sessionId)
      }));
    const empty = 'No other running terminals';
    openChoiceMenu(anchor, 'jp-TermMux-attachMenu', choices, empty);
  }

  /** Show the server's shell profiles, to start a new tab with one. */
  async showProfileMenu(anchor: HTMLElement): Promise<void> {
    const profiles = await this._connection.listProfiles();
    const choices = profiles.map(p => ({
      label: p.default ? `${p.name} (default shell)` : p.name,
      execute: () => void this.newTab(p.name).catch(Private.report)
    }));
    openChoiceMenu(anchor, 'jp-TermMux-profileMenu', choices, 'No profiles');
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._connection.statusChanged.disconnect(this._onStatus, this);
    super.dispose();
  }

  private _onStatus(): void {
    this.node.dataset.status = this._connection.status;
  }

  private _onCurrentChanged(): void {
    const tab = this.currentTab;
    if (tab) {
      tab.activity = false;
      tab.refit();
      if (this.isVisible) {
        tab.activate(); // keys go to the terminal just brought forward
      }
    }
    this._stateChanged.emit();
  }

  private _onTabGone(tab: TerminalTab): void {
    // The session vanished while we were away (e.g. restored after it ended).
    tab.dispose();
  }

  private readonly _connection: ITermMuxConnection;
  private readonly _config: TerminalConfig;
  private readonly _cwd: string | undefined;
  private readonly _toolbar: PanelToolbar;
  private readonly _tabs: TabPanel;
  private _stateChanged = new Signal<this, void>(this);
}

export namespace TermMuxPanel {
  export interface IOptions {
    id: string;
    connection: ITermMuxConnection;
    config: TerminalConfig;
    /** Working directory of new sessions, relative to the server's root dir. */
    cwd?: string;
    icon?: Widget['title']['icon'];
  }
}

namespace Private {
  /** Say that an action failed (a refusal, a timeout, a lost connection). */
  export function report(e: unknown): void {
    console.error('termmux:', e);
    void showErrorMessage('Terminal multiplexer', e as Error);
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
}
