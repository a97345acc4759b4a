/**
 * What the terminals follow live: the user settings, JupyterLab's theme (light
 * or dark, and the CSS colours of the `inherit` theme) and the key bindings
 * that decide which keys leave a focused terminal.
 */
import { IThemeManager } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { CommandRegistry } from '@lumino/commands';

import { TerminalConfig } from './config';
import { readSettings } from './settings';
import { inheritTheme, xtermTheme } from './theme';

/** Read the `inherit` theme from the page's CSS variables now. */
function readPageTheme(config: TerminalConfig): void {
  const style = window.getComputedStyle(document.body);
  config.pageTheme = inheritTheme(
    v => style.getPropertyValue(v),
    xtermTheme(config.isLight)
  );
}

/** Follow JupyterLab's theme live (themeChanged comes once the theme's CSS is loaded). */
export function followTheme(
  config: TerminalConfig,
  themeManager: IThemeManager | null
): void {
  const update = (): void => {
    const theme = themeManager?.theme;
    config.isLight = theme ? themeManager.isLight(theme) : true;
    readPageTheme(config);
  };
  themeManager?.themeChanged.connect(update);
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

/** Keep the keys that leave a terminal in step with the registry's bindings (rebinding included). */
export function followKeyBindings(
  config: TerminalConfig,
  commands: CommandRegistry
): void {
  const update = (): void => config.pageKeys.update(commands.keyBindings);
  commands.keyBindingChanged.connect(update);
  update();
}
