/** User settings and the light/dark theme, applied live to every terminal. */
import { IThemeManager } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { TerminalConfig } from './config';
import { readSettings } from './settings';

/** Follow JupyterLab's theme (light or dark) live. */
export function followTheme(
  config: TerminalConfig,
  themeManager: IThemeManager | null
): void {
  if (!themeManager) {
    return;
  }
  const update = (): void => {
    const theme = themeManager.theme;
    config.isLight = theme ? themeManager.isLight(theme) : true;
  };
  themeManager.themeChanged.connect(update);
  update();
}

/** Load the plugin's settings and apply every change live. */
export function followSettings(
  config: TerminalConfig,
  registry: ISettingRegistry | null,
  pluginId: string
): void {
  if (!registry) {
    return;
  }
  void registry
    .load(pluginId)
    .then(settings => {
      const apply = (): void => {
        config.settings = readSettings(
          settings.composite as { [key: string]: unknown }
        );
      };
      settings.changed.connect(apply);
      apply();
    })
    .catch(reason => console.error('termmux: cannot load settings', reason));
}
