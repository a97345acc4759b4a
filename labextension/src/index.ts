/**
 * jupyter-termmux frontend: the page's single connection (a service other
 * plugins can require through `ITermMuxConnection`) and the terminal panel.
 * Each concern has its module: connectionPlugin.ts, commands.ts,
 * featureCommands.ts, sharingCommands.ts, menus.ts (palette, context menus,
 * launcher), integration.ts (search, file browser, profiles), appearance.ts
 * (settings, theme, key bindings), i18n.ts (translations), panels.ts (state
 * and restore).
 */
import {
  ILayoutRestorer,
  IRouter,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, IThemeManager } from '@jupyterlab/apputils';
import { ISearchProviderRegistry } from '@jupyterlab/documentsearch';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStateDB } from '@jupyterlab/statedb';
import { ITranslator } from '@jupyterlab/translation';

import {
  followKeyBindings,
  followSettings,
  followTheme
} from './terminal/appearance';
import { addCommands, CommandIDs, ICommandContext } from './plugin/commands';
import { TerminalConfig } from './terminal/config';
import { connectionPlugin } from './plugin/connectionPlugin';
import { addFeatureCommands } from './plugin/featureCommands';
import { setTranslator } from './i18n';
import { addFileBrowserItems, addProfileLaunchers } from './plugin/integration';
import { addMenus } from './plugin/menus';
import { PanelManager } from './panel/panels';
import { TermMuxSearchProvider } from './panel/search';
import { mayCreate, protocolKnown } from './terminal/sharing';
import { addSharingCommands } from './plugin/sharingCommands';
import { targetTab } from './plugin/target';
import { ITermMuxConnection } from './tokens';

export { CommandIDs } from './plugin/commands';
export { FeatureIDs } from './plugin/featureCommands';
export { SharingIDs } from './plugin/sharingCommands';
export { socketUrl } from './plugin/connectionPlugin';
export { termmuxIcon } from './panel/icon';
export * from './protocol/protocol';
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
    IThemeManager,
    ISearchProviderRegistry,
    IDefaultFileBrowser,
    IRouter,
    ITranslator
  ],
  activate: (
    app: JupyterFrontEnd,
    connection: ITermMuxConnection,
    launcher: ILauncher | null,
    palette: ICommandPalette | null,
    restorer: ILayoutRestorer | null,
    state: IStateDB | null,
    settingRegistry: ISettingRegistry | null,
    themeManager: IThemeManager | null,
    searchRegistry: ISearchProviderRegistry | null,
    fileBrowser: IDefaultFileBrowser | null,
    router: IRouter | null,
    translator: ITranslator | null
  ): void => {
    setTranslator(translator);
    const config = new TerminalConfig();
    followTheme(config, themeManager);
    followSettings(config, settingRegistry, PLUGIN_ID);
    followKeyBindings(config, app.commands);
    // "+ New" starts in the folder the file browser shows.
    const cwd = (): string => fileBrowser?.model.path ?? '';
    const panels = new PanelManager({ app, connection, config, state, cwd });
    const ctx: ICommandContext = {
      app,
      panels,
      target: () => targetTab(app, panels),
      mayCreate: () => mayCreate(connection.protocol),
      accessKnown: () => protocolKnown(connection)
    };
    addCommands(ctx);
    addFeatureCommands(ctx);
    addSharingCommands(ctx, connection, router);
    addMenus(app, palette, launcher);
    addFileBrowserItems(app, fileBrowser);
    void app.restored.then(() =>
      addProfileLaunchers(connection, launcher, palette)
    );
    searchRegistry?.add('jupyter-termmux', TermMuxSearchProvider);
    void restorer?.restore(panels.tracker, {
      command: CommandIDs.open,
      args: panel => ({ panelId: panel.id }),
      name: panel => panel.id
    });
  }
};

export default [connectionPlugin, panelPlugin];
