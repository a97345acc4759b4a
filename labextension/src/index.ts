/**
 * jupyter-termmux frontend: the page's single connection (a service other
 * plugins can require through `ITermMuxConnection`) and the terminal panel.
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  IThemeManager,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { URLExt } from '@jupyterlab/coreutils';
import { ILauncher } from '@jupyterlab/launcher';
import { ServerConnection } from '@jupyterlab/services';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { LabIcon } from '@jupyterlab/ui-components';
import { JSONObject, ReadonlyPartialJSONObject, UUID } from '@lumino/coreutils';

import iconSvg from '../style/icon.svg';
import { TerminalConfig } from './config';
import { IWebSocketConstructor, TermMuxConnection } from './connection';
import { IPanelState, TermMuxPanel } from './panel';
import { readSettings } from './settings';
import { TerminalTab } from './terminal';
import { ITermMuxConnection } from './tokens';

export { ITermMuxConnection } from './tokens';
export * from './protocol';

const PLUGIN_ID = 'jupyter-termmux:plugin';
const STATE_PREFIX = 'jupyter-termmux:panel:';

export const termmuxIcon = new LabIcon({ name: 'jupyter-termmux:icon', svgstr: iconSvg });

/** Command ids. */
export namespace CommandIDs {
  export const open = 'termmux:open';
  export const newTab = 'termmux:new-tab';
  export const openSession = 'termmux:open-session';
  export const closeTab = 'termmux:close-tab';
  export const shutdownTab = 'termmux:shutdown-tab';
  export const nextTab = 'termmux:next-tab';
  export const previousTab = 'termmux:previous-tab';
  export const renameTab = 'termmux:rename-tab';
}

/** `{wsUrl}api/termmux/socket`, token appended as JupyterLab's terminal service does. */
export function socketUrl(settings: ServerConnection.ISettings): string {
  let url = URLExt.join(settings.wsUrl, 'api', 'termmux', 'socket');
  const token = settings.token;
  if (settings.appendToken && token !== '') {
    url = url + `?token=${encodeURIComponent(token)}`;
  }
  return url;
}

const connectionPlugin: JupyterFrontEndPlugin<ITermMuxConnection> = {
  id: 'jupyter-termmux:connection',
  description: 'The single multiplexed termmux WebSocket of the page.',
  autoStart: true,
  provides: ITermMuxConnection,
  activate: (app: JupyterFrontEnd): ITermMuxConnection => {
    const settings = app.serviceManager.serverSettings;
    const connection = new TermMuxConnection({
      url: () => socketUrl(settings),
      // The browser WebSocket class JupyterLab itself uses (structurally wider).
      WebSocket: settings.WebSocket as unknown as IWebSocketConstructor
    });
    // Keep JupyterLab's Running panel in step with sessions made or ended here.
    connection.sessionsChanged.connect(() => {
      const terminals = app.serviceManager.terminals;
      if (terminals.isAvailable()) {
        void terminals.refreshRunning().catch(() => undefined);
      }
    });
    return connection;
  }
};

const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: PLUGIN_ID,
  description: 'A panel of terminal tabs sharing one WebSocket.',
  autoStart: true,
  requires: [ITermMuxConnection],
  optional: [
    ILauncher,
    ICommandPalette,
    ILayoutRestorer,
    IStateDB,
    ISettingRegistry,
    IThemeManager
  ],
  activate: (
    app: JupyterFrontEnd,
    connection: ITermMuxConnection,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null,
    settingRegistry: ISettingRegistry | null,
    themeManager: IThemeManager | null
  ): void => {
    const { commands, shell } = app;
    const config = new TerminalConfig();
    const tracker = new WidgetTracker<TermMuxPanel>({ namespace: 'termmux' });

    // Theme follows JupyterLab live.
    if (themeManager) {
      const updateTheme = (): void => {
        const theme = themeManager.theme;
        config.isLight = theme ? themeManager.isLight(theme) : true;
      };
      themeManager.themeChanged.connect(updateTheme);
      updateTheme();
    }

    // Settings applied live to every open tab.
    if (settingRegistry) {
      void settingRegistry
        .load(PLUGIN_ID)
        .then(settings => {
          const apply = (): void => {
            config.settings = readSettings(settings.composite as { [key: string]: unknown });
          };
          settings.changed.connect(apply);
          apply();
        })
        .catch(reason => console.error('termmux: cannot load settings', reason));
    }

    const lastSaved = new Map<string, string>();
    const saveState = (panel: TermMuxPanel): void => {
      if (!state || panel.isDisposed) {
        return;
      }
      const value = panel.state;
      const key = JSON.stringify(value);
      if (lastSaved.get(panel.id) !== key) {
        lastSaved.set(panel.id, key);
        void state.save(STATE_PREFIX + panel.id, value as unknown as JSONObject);
      }
    };

    const createPanel = (id: string): TermMuxPanel => {
      const panel = new TermMuxPanel({
        id,
        connection,
        config,
        cwd: '',
        icon: termmuxIcon
      });
      panel.stateChanged.connect(() => saveState(panel));
      panel.disposed.connect(() => {
        // Closed by the user: its tabs detached, nothing to restore.
        lastSaved.delete(id);
        void state?.remove(STATE_PREFIX + id);
      });
      void tracker.add(panel);
      shell.add(panel, 'main');
      return panel;
    };

    const current = (): TermMuxPanel | null => {
      const widget = tracker.currentWidget;
      return widget && !widget.isDisposed ? widget : null;
    };
    const currentTab = (): TerminalTab | null => current()?.currentTab ?? null;

    commands.addCommand(CommandIDs.open, {
      label: args => (args.isLauncher ? 'Terminals' : 'Open Terminal Multiplexer'),
      caption: 'Terminal tabs sharing one connection',
      icon: args => (args.isPalette ? undefined : termmuxIcon),
      execute: async (args: ReadonlyPartialJSONObject) => {
        const panelId = typeof args.panelId === 'string' ? args.panelId : undefined;
        if (panelId !== undefined) {
          const existing = tracker.find(w => w.id === panelId);
          if (existing) {
            shell.activateById(existing.id);
            return existing;
          }
        }
        const panel = createPanel(panelId ?? `jp-termmux-panel-${UUID.uuid4()}`);
        const saved = panelId !== undefined && state ? await state.fetch(STATE_PREFIX + panelId) : undefined;
        if (saved) {
          panel.restore(saved as unknown as IPanelState);
        } else {
          await panel.newTab();
        }
        shell.activateById(panel.id);
        return panel;
      }
    });

    commands.addCommand(CommandIDs.newTab, {
      label: 'New Terminal Tab',
      caption: 'Start a terminal in a new tab of the terminal multiplexer',
      execute: async () => {
        const panel = current();
        if (!panel) {
          return commands.execute(CommandIDs.open);
        }
        shell.activateById(panel.id);
        return panel.newTab();
      }
    });

    commands.addCommand(CommandIDs.openSession, {
      label: args => `Open Terminal ${String(args.sessionId ?? '')} in a Tab`,
      execute: async args => {
        const sessionId = String(args.sessionId ?? '');
        let panel = current();
        if (!panel) {
          panel = createPanel(`jp-termmux-panel-${UUID.uuid4()}`);
        }
        shell.activateById(panel.id);
        return panel.openSession(sessionId);
      }
    });

    commands.addCommand(CommandIDs.closeTab, {
      label: 'Close Terminal Tab (Keep Session Running)',
      isEnabled: () => currentTab() !== null,
      execute: () => current()?.closeTab()
    });

    commands.addCommand(CommandIDs.shutdownTab, {
      label: 'Shut Down Terminal Session…',
      isEnabled: () => currentTab() !== null,
      execute: async () => {
        const panel = current();
        const tab = panel?.currentTab;
        if (!panel || !tab) {
          return;
        }
        const result = await showDialog({
          title: 'Shut down terminal?',
          body: `Terminate session ${tab.sessionId} (“${tab.title.label}”) and every process in it?`,
          buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Shut Down' })]
        });
        if (result.button.accept) {
          await panel.shutdownTab(tab);
        }
      }
    });

    commands.addCommand(CommandIDs.nextTab, {
      label: 'Next Terminal Tab',
      isEnabled: () => current() !== null,
      execute: () => current()?.cycleTab(1)
    });

    commands.addCommand(CommandIDs.previousTab, {
      label: 'Previous Terminal Tab',
      isEnabled: () => current() !== null,
      execute: () => current()?.cycleTab(-1)
    });

    commands.addCommand(CommandIDs.renameTab, {
      label: 'Rename Terminal Tab…',
      isEnabled: () => currentTab() !== null,
      execute: async args => {
        const panel = current();
        const tab = panel?.currentTab;
        if (!panel || !tab) {
          return;
        }
        let label = typeof args.label === 'string' ? args.label : null;
        if (label === null) {
          const result = await InputDialog.getText({ title: 'Rename Tab', text: tab.title.label });
          label = result.button.accept ? result.value : null;
        }
        if (label !== null) {
          panel.renameTab(label, tab);
        }
      }
    });

    if (palette) {
      const category = 'Terminal Multiplexer';
      for (const command of [
        CommandIDs.open,
        CommandIDs.newTab,
        CommandIDs.closeTab,
        CommandIDs.shutdownTab,
        CommandIDs.nextTab,
        CommandIDs.previousTab,
        CommandIDs.renameTab
      ]) {
        palette.addItem({ command, category, args: { isPalette: true } });
      }
    }

    if (launcher) {
      launcher.add({ command: CommandIDs.open, category: 'Other', rank: 0, args: { isLauncher: true } });
    }

    if (restorer) {
      void restorer.restore(tracker, {
        command: CommandIDs.open,
        args: panel => ({ panelId: panel.id }),
        name: panel => panel.id
      });
    }
  }
};

export default [connectionPlugin, panelPlugin];
