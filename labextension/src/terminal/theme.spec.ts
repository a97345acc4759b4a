/** The terminals' colours: the `inherit` theme read from CSS variables, and the setting. */
import { describe, expect, it } from 'vitest';

import { DEFAULT_SETTINGS } from './settings';
import {
  chosenTheme,
  DARK_THEME,
  inheritTheme,
  LIGHT_THEME,
  xtermOptions
} from './theme';

/** JupyterLab Dark's values of the variables read. */
const DARK_VARS: { [name: string]: string } = {
  '--jp-ui-font-color0': ' rgba(255, 255, 255, 1)',
  '--jp-layout-color0': ' #111111',
  '--jp-brand-color1': '#42a5f5',
  '--jp-editor-selected-background': 'rgba(255,255,255,0.2)'
};

describe('theme', () => {
  it('inherits the page’s colours, trimmed, falling back where a variable is missing', () => {
    const theme = inheritTheme(v => DARK_VARS[v] ?? '', LIGHT_THEME);
    expect(theme.background).toBe('#111111');
    expect(theme.foreground).toBe('rgba(255, 255, 255, 1)');
    expect(theme.cursor).toBe('#42a5f5');
    expect(theme.cursorAccent).toBe('#111111');
    expect(theme.selectionBackground).toBe('rgba(255,255,255,0.2)');
    expect(inheritTheme(() => '', DARK_THEME)).toEqual(DARK_THEME);
  });

  it('follows the setting: inherit, or a fixed palette', () => {
    const pageTheme = inheritTheme(v => DARK_VARS[v] ?? '', DARK_THEME);
    const source = { settings: DEFAULT_SETTINGS, isLight: false, pageTheme };
    expect(DEFAULT_SETTINGS.theme).toBe('inherit');
    expect(chosenTheme(source)).toBe(pageTheme);
    expect(chosenTheme({ ...source, pageTheme: null })).toBe(DARK_THEME);
    const light = { ...DEFAULT_SETTINGS, theme: 'light' as const };
    expect(chosenTheme({ ...source, settings: light })).toBe(LIGHT_THEME);
    const dark = { ...DEFAULT_SETTINGS, theme: 'dark' as const };
    expect(chosenTheme({ ...source, settings: dark, isLight: true })).toBe(
      DARK_THEME
    );
  });

  it('passes the screen reader setting to xterm', () => {
    const settings = { ...DEFAULT_SETTINGS, screenReaderMode: true };
    const source = { settings, isLight: true, pageTheme: null };
    expect(xtermOptions(source, 0).screenReaderMode).toBe(true);
    expect(
      xtermOptions({ ...source, settings: DEFAULT_SETTINGS }, 0)
    ).toMatchObject({
      screenReaderMode: false
    });
  });
});
