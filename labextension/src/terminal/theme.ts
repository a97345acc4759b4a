/**
 * xterm.js colours and the options from the settings. The `inherit` theme
 * takes its colours from JupyterLab's CSS variables (as JupyterLab's own
 * terminal does), so any Lab theme applies, high-contrast ones included;
 * `light` and `dark` are fixed palettes.
 */
import type { ITerminalOptions, ITheme } from '@xterm/xterm';

import { ITerminalSettings } from './settings';

export const LIGHT_THEME: ITheme = {
  foreground: '#000',
  background: '#fff',
  cursor: '#616161',
  cursorAccent: '#fff',
  selectionBackground: 'rgba(97, 97, 97, 0.3)',
  selectionInactiveBackground: 'rgba(189, 189, 189, 0.3)'
};

export const DARK_THEME: ITheme = {
  foreground: '#fff',
  background: '#000',
  cursor: '#fff',
  cursorAccent: '#000',
  selectionBackground: 'rgba(255, 255, 255, 0.3)',
  selectionInactiveBackground: 'rgba(238, 238, 238, 0.3)'
};

/** Which CSS variable of the page gives each colour of the `inherit` theme. */
export const INHERIT_VARIABLES: { readonly [K in keyof ITheme]?: string } = {
  foreground: '--jp-ui-font-color0',
  background: '--jp-layout-color0',
  cursor: '--jp-brand-color1',
  cursorAccent: '--jp-layout-color0',
  selectionBackground: '--jp-editor-selected-background',
  selectionInactiveBackground: '--jp-editor-selected-background'
};

/** The xterm theme for a JupyterLab theme that is light or not. */
export function xtermTheme(isLight: boolean): ITheme {
  return isLight ? LIGHT_THEME : DARK_THEME;
}

/**
 * The `inherit` theme: each colour from its CSS variable (`read` returns the
 * computed value), `fallback`'s where the page does not define it.
 */
export function inheritTheme(
  read: (variable: string) => string,
  fallback: ITheme
): ITheme {
  const theme: ITheme = { ...fallback };
  for (const [name, variable] of Object.entries(INHERIT_VARIABLES)) {
    const value = variable === undefined ? '' : read(variable).trim();
    if (value !== '') {
      (theme as { [key: string]: string })[name] = value;
    }
  }
  return theme;
}

/** What the options depend on besides the settings: the page's theme. */
export interface IThemeSource {
  settings: ITerminalSettings;
  isLight: boolean;
  /** Colours read from the page's CSS variables (null before the first read). */
  pageTheme: ITheme | null;
}

/** The theme setting resolved against the page's theme. */
export function chosenTheme(config: IThemeSource): ITheme {
  switch (config.settings.theme) {
    case 'light':
      return LIGHT_THEME;
    case 'dark':
      return DARK_THEME;
    default:
      return config.pageTheme ?? xtermTheme(config.isLight);
  }
}

/** The settings-driven options of an xterm terminal: font (plus a panel's zoom), scrollback, cursor, colours, screen reader. */
export function xtermOptions(
  config: IThemeSource,
  zoom: number
): ITerminalOptions {
  const s = config.settings;
  return {
    fontSize: Math.max(6, s.fontSize + zoom),
    fontFamily: s.fontFamily,
    scrollback: s.scrollback,
    cursorStyle: s.cursorStyle,
    screenReaderMode: s.screenReaderMode,
    theme: chosenTheme(config)
  };
}
