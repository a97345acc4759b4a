/** xterm.js colours that follow JupyterLab's light/dark theme, and the options from the settings. */
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

/** The xterm theme for a JupyterLab theme that is light or not. */
export function xtermTheme(isLight: boolean): ITheme {
  return isLight ? LIGHT_THEME : DARK_THEME;
}

/** The settings-driven options of an xterm terminal: font (plus a panel's zoom), scrollback, cursor, colours. */
export function xtermOptions(
  config: { settings: ITerminalSettings; isLight: boolean },
  zoom: number
): ITerminalOptions {
  const s = config.settings;
  return {
    fontSize: Math.max(6, s.fontSize + zoom),
    fontFamily: s.fontFamily,
    scrollback: s.scrollback,
    cursorStyle: s.cursorStyle,
    theme: xtermTheme(config.isLight)
  };
}
