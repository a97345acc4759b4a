/** User settings of the termmux terminals (schema/plugin.json), with their defaults. */

export type CursorStyle = 'block' | 'underline' | 'bar';

export interface ITerminalSettings {
  fontSize: number;
  fontFamily: string;
  scrollback: number;
  cursorStyle: CursorStyle;
}

export const DEFAULT_SETTINGS: ITerminalSettings = {
  fontSize: 13,
  fontFamily: 'Menlo, Consolas, "DejaVu Sans Mono", monospace',
  scrollback: 5000,
  cursorStyle: 'block'
};

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
    raw.cursorStyle === 'block' ||
    raw.cursorStyle === 'underline' ||
    raw.cursorStyle === 'bar'
  ) {
    s.cursorStyle = raw.cursorStyle;
  }
  return s;
}
