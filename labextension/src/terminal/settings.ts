/** User settings of the termmux terminals (schema/plugin.json), with their defaults. */

export type CursorStyle = 'block' | 'underline' | 'bar';

/** Which xterm.js renderer draws the terminals (renderer.ts). */
export type RendererSetting = 'auto' | 'webgl' | 'dom';

/** The terminals' colours: JupyterLab's theme (`inherit`) or a fixed palette. */
export type ThemeSetting = 'inherit' | 'light' | 'dark';

export interface ITerminalSettings {
  fontSize: number;
  fontFamily: string;
  scrollback: number;
  cursorStyle: CursorStyle;
  renderer: RendererSetting;
  /** Ctrl+V pastes (as in JupyterLab's terminal), instead of sending ^V. */
  pasteWithCtrlV: boolean;
  /** A tab's label follows the title the program sets (OSC 0/2) until renamed. */
  followProgramTitle: boolean;
  theme: ThemeSetting;
  /** xterm's screen-reader mode: an accessibility tree that mirrors the screen. */
  screenReaderMode: boolean;
}

export const DEFAULT_SETTINGS: ITerminalSettings = {
  fontSize: 13,
  fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace',
  scrollback: 5000,
  cursorStyle: 'block',
  renderer: 'dom',
  pasteWithCtrlV: true,
  followProgramTitle: true,
  theme: 'inherit',
  screenReaderMode: false
};

const CURSOR_STYLES: readonly string[] = ['block', 'underline', 'bar'];
const RENDERERS: readonly string[] = ['auto', 'webgl', 'dom'];
const THEMES: readonly string[] = ['inherit', 'light', 'dark'];

/** Merge raw composite settings over the defaults, ignoring values of the wrong type. */
export function readSettings(raw: {
  [key: string]: unknown;
}): ITerminalSettings {
  const s: ITerminalSettings = { ...DEFAULT_SETTINGS };
  if (typeof raw.fontSize === 'number' && raw.fontSize > 0) {
    s.fontSize = raw.fontSize;
  }
  if (typeof raw.fontFamily === 'string' && raw.fontFamily !== '') {
    s.fontFamily = raw.fontFamily;
  }
  if (typeof raw.scrollback === 'number' && raw.scrollback >= 0) {
    s.scrollback = Math.floor(raw.scrollback);
  }
  if (
    typeof raw.cursorStyle === 'string' &&
    CURSOR_STYLES.includes(raw.cursorStyle)
  ) {
    s.cursorStyle = raw.cursorStyle as CursorStyle;
  }
  if (typeof raw.renderer === 'string' && RENDERERS.includes(raw.renderer)) {
    s.renderer = raw.renderer as RendererSetting;
  }
  if (typeof raw.pasteWithCtrlV === 'boolean') {
    s.pasteWithCtrlV = raw.pasteWithCtrlV;
  }
  if (typeof raw.followProgramTitle === 'boolean') {
    s.followProgramTitle = raw.followProgramTitle;
  }
  if (typeof raw.theme === 'string' && THEMES.includes(raw.theme)) {
    s.theme = raw.theme as ThemeSetting;
  }
  if (typeof raw.screenReaderMode === 'boolean') {
    s.screenReaderMode = raw.screenReaderMode;
  }
  return s;
}
