/**
 * The termmux panel: a toolbar ("+ New ▾" with the server's shell profiles,
 * split buttons, "Attach ▾", the connection) over a dock of terminal tabs
 * (panes.ts) that can be split side by side. All tabs of all panes share the
 * page's one connection. The panel's font zoom applies to all its tabs.
 */
import { ISignal, Signal } from '@lumino/signaling';
import { BoxPanel, Widget } from '@lumino/widgets';

import { TerminalConfig } from '../terminal/config';
import { Direction } from './geometry';
import { trans } from '../i18n';
import { isSavedArea } from './layout';
import { Placement, TerminalDock } from './panes';
import { TerminalTab } from '../terminal/terminal';
import { IResumePoint, ITermMuxConnection } from '../tokens';
import * as menus from './panelMenus';
import * as actions from './panelSessions';
import {
  currentIndex,
  IPanelState,
  ITabSpec,
  nextZoom,
  savedTab,
  tabState
} from './panelState';
import { profilesOrNull } from './profiles';
import { PresencePoller, refreshPresence } from '../terminal/sharing';
import { openChoiceMenu, PanelToolbar } from './toolbar';

export type { IPanelState, ITabState } from './panelState';
export type { INewTabOptions } from './panelSessions';

export class TermMuxPanel extends BoxPanel {
  constructor(options: TermMuxPanel.IOptions) {
    super({ direction: 'top-to-bottom', spacing: 0 });
    this.id = options.id;
    this.addClass('jp-TermMux-panel');
    this.title.label = trans().__('Terminals');
    this.title.caption = trans().__(
      'Terminal multiplexer (one connection for all tabs)'
    );
    this.title.closable = true;
    if (options.icon) {
      this.title.icon = options.icon;
    }
    this._connection = options.connection;
    this._config = options.config;
    this._cwd = options.cwd ?? (() => undefined);

    this._toolbar = new PanelToolbar({
      connection: this._connection,
      onNew: () => this._run(this.newTab()),
      onNewMenu: anchor => this._run(this.showProfileMenu(anchor)),
      onSplit: placement => this._run(this.newTab({ placement })),
      onAttach: anchor => this._run(this.showAttachMenu(anchor))
    });
    this._dock = new TerminalDock();
    this._dock.addRequested.connect(() => this._run(this.newTab()));
    this._dock.layoutModified.connect(() => this._stateChanged.emit(), this);
    this._dock.currentChanged.connect(this._onCurrentChanged, this);

    BoxPanel.setStretch(this._toolbar, 0);
    BoxPanel.setStretch(this._dock, 1);
    this.addWidget(this._toolbar);
    this.addWidget(this._dock);

    this._connection.statusChanged.connect(this._onStatus, this);
    this._onStatus();
    // Others watching, polled modestly while the panel is in sight.
    this._presence = new PresencePoller(
      () => this.isVisible && !document.hidden,
      () => refreshPresence(this._connection, this.tabs)
    );
    this._stateChanged.connect(() => {
      // Outline the current pane only when there are several.
      const panes = [...this._dock.tabBars()].length;
      this._dock.toggleClass('jp-TermMux-split', panes > 1);
    });
  }

  /** Emitted when tabs are added, removed, moved, renamed, split or switched. */
  get stateChanged(): ISignal<this, void> {
    return this._stateChanged;
  }

  /** The open tabs in layout order. */
  get tabs(): TerminalTab[] {
    return this._dock.tabs;
  }

  get currentTab(): TerminalTab | null {
    return this._dock.current;
  }

  /** Font zoom of this panel's tabs, in pixels added to the font size setting. */
  get zoom(): number {
    return this._zoom;
  }

  get state(): IPanelState {
    const tabs = this.tabs;
    const current = this.currentTab;
    return {
      tabs: tabs.map(tabState),
      current: current?.sessionId ?? null,
      currentIndex: current ? tabs.indexOf(current) : -1,
      layout: this._dock.savedLayout(),
      zoom: this._zoom
    };
  }

  /** Reopen saved tabs in their layout (their recent output is replayed on attach). */
  restore(state: IPanelState): void {
    if (typeof state.zoom === 'number') {
      this._zoom = state.zoom;
    }
    // In saved order: the layout names a session once per tab, in that order.
    const opened = state.tabs.map(tab => this._open(savedTab(tab), 'tab'));
    if (isSavedArea(state.layout)) {
      this._dock.restoreSaved(state.layout, opened);
    }
    const sessions = opened.map(t => t.sessionId);
    const current = opened[currentIndex(state, sessions)];
    if (current) {
      this._dock.showTab(current, false);
    }
  }

  /** Create a session on the server, then attach it in a new tab or pane. */
  async newTab(options: actions.INewTabOptions = {}): Promise<TerminalTab> {
    // A split halves the size anyway: only a tab takes the current one's size.
    const beside = options.placement ? undefined : this.currentTab?.terminal;
    const cwd = options.cwd ?? this._cwd();
    const create = actions.createOptions(cwd, options.profile, beside);
    const sessionId = await this._connection.createSession(create);
    const label = options.profile;
    return this.openSession(sessionId, label, true, null, options.placement);
  }

  /** Show an existing session in this panel (activating its tab if already open). */
  openSession(
    sessionId: string,
    label?: string,
    activate = true,
    resume: IResumePoint | null = null,
    placement: Placement = 'tab'
  ): TerminalTab {
    return this._show({ sessionId, label, resume }, placement, activate);
  }

  /** Show a session read-only (a read-only link); an open tab of it is activated instead. */
  openView(sessionId: string): TerminalTab {
    return this._show({ sessionId, mode: 'view' }, 'tab', true);
  }

  /** Close a tab: detach only, the session keeps running. */
  closeTab(tab: TerminalTab | null = this.currentTab): void {
    tab?.close();
  }

  /** Terminate a tab's session and remove the tab. */
  async shutdownTab(tab: TerminalTab | null = this.currentTab): Promise<void> {
    if (tab) {
      await actions.shutdownSession(this._connection, tab.sessionId);
      tab.dispose();
    }
  }

  /** Select the next (+1) or previous (−1) tab of the current pane, wrapping around. */
  cycleTab(step: 1 | -1): void {
    this._dock.cycle(step);
  }

  /** Focus the pane in `direction` from the current one. */
  focusPane(direction: Direction): boolean {
    return this._dock.focusPane(direction);
  }

  /** Give the current tab a new label (the program's title stops replacing it). */
  renameTab(label: string, tab: TerminalTab | null = this.currentTab): void {
    if (tab && label.trim() !== '') {
      tab.rename(label.trim());
    }
  }

  /** Font zoom: +1 / −1 pixel for every tab of this panel, 0 resets. */
  zoomBy(step: 1 | -1 | 0): void {
    this._zoom = nextZoom(this._config.settings.fontSize, this._zoom, step);
    this.node.dataset.zoom = String(this._zoom);
    this.tabs.forEach(t => t.applyConfig());
    this._stateChanged.emit();
  }

  /** The sessions the current pane does not show, to attach one there (a second view too). */
  async showAttachMenu(anchor: HTMLElement): Promise<void> {
    const open = new Set(this._dock.currentPane.map(t => t.sessionId));
    const sessions = await this._connection.listSessions();
    const attach = (id: string): unknown =>
      this._show({ sessionId: id }, 'tab', true, this._dock.currentPane);
    const choices = menus.attachChoices(sessions, open, attach);
    const { className, empty } = menus.ATTACH_MENU;
    openChoiceMenu(anchor, className, choices, empty);
  }

  /** Show the server's shell profiles, to start a new tab with one. */
  async showProfileMenu(anchor: HTMLElement): Promise<void> {
    const profiles = await this._connection.listProfiles();
    const start = (profile: string): void =>
      this._run(this.newTab({ profile }));
    const { className, empty } = menus.PROFILE_MENU;
    const choices = menus.profileChoices(profiles, start);
    openChoiceMenu(anchor, className, choices, empty);
  }

  /** Hide the "+ New ▾" menu on a server that does not know profiles (an older one). */
  async checkProfiles(): Promise<void> {
    const profiles = await profilesOrNull(this._connection);
    this._toolbar.setProfilesAvailable(profiles !== null);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._connection.statusChanged.disconnect(this._onStatus, this);
    this._presence.dispose();
    super.dispose();
  }

  /** The tab of `spec`'s session among `among` (the panel's), opened if there is none. */
  private _show(
    spec: ITabSpec,
    placement: Placement,
    activate: boolean,
    among: TerminalTab[] = this.tabs
  ): TerminalTab {
    const id = spec.sessionId;
    const tab =
      among.find(t => t.sessionId === id) ?? this._open(spec, placement);
    if (activate) {
      this._dock.showTab(tab, true);
    }
    this._stateChanged.emit();
    return tab;
  }

  /** A new tab for `spec`, wired to the panel's state, placed in the dock. */
  private _open(spec: ITabSpec, placement: Placement): TerminalTab {
    const tab = new TerminalTab({
      ...spec,
      connection: this._connection,
      config: this._config,
      zoom: () => this._zoom
    });
    // The session vanished while we were away (e.g. restored after it ended).
    tab.gone.connect(() => tab.dispose(), this);
    tab.resumeChanged.connect(() => this._stateChanged.emit(), this);
    tab.disposed.connect(() => this._stateChanged.emit(), this);
    tab.title.changed.connect(() => this._stateChanged.emit(), this);
    this._dock.place(tab, placement);
    return tab;
  }

  private _run(action: Promise<unknown>): void {
    void action.catch(actions.reportFailure);
  }

  private _onStatus(): void {
    this.node.dataset.status = this._connection.status;
    if (this._connection.status === 'connected' && !this._profilesAsked) {
      this._profilesAsked = true;
      this._run(this.checkProfiles());
    }
  }

  private _onCurrentChanged(): void {
    const tab = this.currentTab;
    if (tab) {
      tab.activity = false;
      tab.refit();
    }
    this._stateChanged.emit();
  }

  private readonly _connection: ITermMuxConnection;
  private readonly _config: TerminalConfig;
  private readonly _cwd: () => string | undefined;
  private readonly _toolbar: PanelToolbar;
  private readonly _dock: TerminalDock;
  private readonly _presence: PresencePoller;
  private _zoom = 0;
  private _profilesAsked = false;
  private _stateChanged = new Signal<this, void>(this);
}

export namespace TermMuxPanel {
  export interface IOptions {
    id: string;
    connection: ITermMuxConnection;
    config: TerminalConfig;
    /** Working directory of new sessions, relative to the server's root dir. */
    cwd?: () => string | undefined;
    icon?: Widget['title']['icon'];
  }
}
