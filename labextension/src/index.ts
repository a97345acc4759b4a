/**
 * jupyter-termmux frontend: the page's single connection (a service other
 * plugins can require through `ITermMuxConnection`) and the terminal panel.
 * Each concern has its module: connectionPlugin.ts, commands.ts,
 * appearance.ts (settings and theme), panels.ts (state and restore).
 */
import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';

import { followSettings, followTheme } from './appearance';
import { addCommands, addLaunchers, CommandIDs } from './commands';
import { TerminalConfig } from './config';
import { connectionPlugin } from './connectionPlugin';
import { PanelManager } from './panels';
import { ITermMuxConnection } from './tokens';

export { CommandIDs } from './commands';
export { socketUrl } from './connectionPlugin';
export { termmuxIcon } from './icon';
export * from './protocol';
export * from './tokens';

const PLUGIN_ID = 'jupyter-termmux:plugin';

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
    const config = new TerminalConfig();
    followTheme(config, themeManager);
    followSettings(config, settingRegistry, PLUGIN_ID);
    const panels = new PanelManager({ app, connection, config, state });
    addCommands(app, panels);
    addLaunchers(palette, launcher);
    void restorer?.restore(panels.tracker, {
      command: CommandIDs.open,
      args: panel => ({ panelId: panel.id }),
      name: panel => panel.id
    });
  }
};

export default [connectionPlugin, panelPlugin];
