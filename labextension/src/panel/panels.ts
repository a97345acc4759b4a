/**
 * Making, finding and persisting panels: each panel's tabs (and, on v2,
 * where each tab's stream stood) are saved in the state DB, so a reload
 * brings the same tabs back attached to the same sessions.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { WidgetTracker } from '@jupyterlab/apputils';
import { IStateDB } from '@jupyterlab/statedb';
import { JSONObject, UUID } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { TerminalConfig } from '../terminal/config';
import { termmuxIcon } from './icon';
import { IPanelState, TermMuxPanel } from './panel';
import { TerminalTab } from '../terminal/terminal';
import { ITermMuxConnection } from '../tokens';

const STATE_PREFIX = 'jupyter-termmux:panel:';

export class PanelManager {
  constructor(options: PanelManager.IOptions) {
    this._options = options;
    this.tracker = new WidgetTracker<TermMuxPanel>({ namespace: 'termmux' });
    // The last main-area widget that was not a terminal panel (for the toggle).
    const shell = options.app.shell as {
      currentChanged?: ISignal<unknown, unknown>;
    };
    shell.currentChanged?.connect(() => {
      const w = options.app.shell.currentWidget;
      if (w && !(w instanceof TermMuxPanel)) {
        this.previousWidget = w;
      }
    });
  }

  readonly tracker: WidgetTracker<TermMuxPanel>;

  /** The widget shown before the toggle command brought a panel forward. */
  previousWidget: Widget | null = null;

  /** The current panel, if any. */
  get current(): TermMuxPanel | null {
    const widget = this.tracker.currentWidget;
    return widget && !widget.isDisposed ? widget : null;
  }

  /** The current panel's current tab, if any. */
  get currentTab(): TerminalTab | null {
    return this.current?.currentTab ?? null;
  }

  /** Find a panel by id. */
  find(id: string): TermMuxPanel | undefined {
    return this.tracker.find(w => w.id === id);
  }

  /** A new, empty panel added to the main area. */
  create(id = `jp-termmux-panel-${UUID.uuid4()}`): TermMuxPanel {
    const { connection, config, app } = this._options;
    const panel = new TermMuxPanel({
      id,
      connection,
      config,
      cwd: this._options.cwd ?? (() => ''),
      icon: termmuxIcon
    });
    panel.stateChanged.connect(() => this._save(panel));
    panel.disposed.connect(() => {
      // Closed by the user: its tabs detached, nothing to restore.
      this._lastSaved.delete(id);
      void this._options.state?.remove(STATE_PREFIX + id);
    });
    void this.tracker.add(panel);
    app.shell.add(panel, 'main');
    return panel;
  }

  /** The saved state of panel `id`, if any. */
  async saved(id: string): Promise<IPanelState | undefined> {
    const state = this._options.state;
    const value = state ? await state.fetch(STATE_PREFIX + id) : undefined;
    return value ? (value as unknown as IPanelState) : undefined;
  }

  private _save(panel: TermMuxPanel): void {
    const state = this._options.state;
    if (!state || panel.isDisposed) {
      return;
    }
    const value = panel.state;
    const key = JSON.stringify(value);
    if (this._lastSaved.get(panel.id) !== key) {
      this._lastSaved.set(panel.id, key);
      void state.save(STATE_PREFIX + panel.id, value as unknown as JSONObject);
    }
  }

  private readonly _options: PanelManager.IOptions;
  private readonly _lastSaved = new Map<string, string>();
}

export namespace PanelManager {
  export interface IOptions {
    app: JupyterFrontEnd;
    connection: ITermMuxConnection;
    config: TerminalConfig;
    state: IStateDB | null;
    /** Where "+ New" starts a shell: the file browser's folder (root-relative). */
    cwd?: () => string | undefined;
  }
}
