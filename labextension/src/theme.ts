/** xterm.js colours that follow JupyterLab's light/dark theme. */
import type { ITheme } from '@xterm/xterm';

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
