/**
 * Which keys of a focused terminal are the page's, not the program's. xterm.js
 * calls the custom key handler before it turns a key into input; returning
 * false leaves the key to the browser and to JupyterLab's shortcuts (which
 * listen on the document, after xterm). Everything else goes to the program,
 * Ctrl+W included (bash's unix-word-rubout), with the browser's default
 * prevented so it does not close the page's tab (as far as a page can: some
 * browsers keep Ctrl+W for themselves; beforeunload covers the rest).
 */

/** The part of a KeyboardEvent looked at. */
export interface IKeyLike {
  type: string;
  key: string;
  code: string;
  ctrlKey: boolean;
  shiftKey: boolean;
  altKey: boolean;
  metaKey: boolean;
}

export type KeyAction =
  /** Copy the selection (the browser's copy is prevented; the page copies). */
  | 'copy'
  /** Leave it to the browser's native paste, which the tab turns into a chunked paste. */
  | 'paste'
  | 'zoom-in'
  | 'zoom-out'
  | 'zoom-reset'
  /** A JupyterLab shortcut (find, next tab, toggle panel...): xterm ignores it. */
  | 'lab'
  /** Input for the program. */
  | 'terminal';

export interface IKeyContext {
  pasteWithCtrlV: boolean;
  hasSelection: boolean;
}

/** Shortcuts (besides copy, paste and zoom) that must reach JupyterLab, as `mods+key`. */
export const LAB_KEYS: readonly string[] = [
  'ctrl+f', // Edit > Find (documentsearch's Accel F)
  'ctrl+g',
  'ctrl+shift+g',
  'ctrl+alt+pagedown', // next terminal tab
  'ctrl+alt+pageup', // previous terminal tab
  'ctrl+alt+arrowleft', // pane navigation
  'ctrl+alt+arrowright',
  'ctrl+alt+arrowup',
  'ctrl+alt+arrowdown',
  'ctrl+alt+\\', // split right
  'ctrl+alt+-', // split down
  'ctrl+`' // toggle the terminal panel
];

/** `ctrl+shift+key` style name of a key event (lower case; Meta counts as Ctrl for macOS's Cmd). */
export function keyName(e: IKeyLike): string {
  const mods: string[] = [];
  if (e.ctrlKey || e.metaKey) {
    mods.push('ctrl');
  }
  if (e.altKey) {
    mods.push('alt');
  }
  if (e.shiftKey) {
    mods.push('shift');
  }
  const key = e.code === 'Backquote' ? '`' : e.key.toLowerCase();
  return [...mods, key].join('+');
}

/** What a key event of a focused terminal should do. */
export function classifyKey(e: IKeyLike, ctx: IKeyContext): KeyAction {
  const name = keyName(e);
  switch (name) {
    case 'ctrl+shift+c':
      // Without a selection it stays JupyterLab's command palette shortcut.
      return ctx.hasSelection ? 'copy' : 'lab';
    case 'ctrl+c':
      // As JupyterLab's terminal: Ctrl+C copies a selection, else it is ^C.
      return ctx.hasSelection ? 'copy' : 'terminal';
    case 'ctrl+shift+v':
      return 'paste';
    case 'ctrl+v':
      return ctx.pasteWithCtrlV ? 'paste' : 'terminal';
    case 'ctrl+=':
    case 'ctrl++':
    case 'ctrl+shift++':
    case 'ctrl+shift+=':
      return 'zoom-in';
    case 'ctrl+-':
    case 'ctrl+shift+_':
      return 'zoom-out';
    case 'ctrl+0':
      return 'zoom-reset';
  }
  return LAB_KEYS.includes(name) ? 'lab' : 'terminal';
}
