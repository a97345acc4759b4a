/**
 * Which keys of a focused terminal are the page's, not the program's. xterm.js
 * calls the custom key handler before it turns a key into input; returning
 * false leaves the key to the browser and to JupyterLab's shortcuts (which
 * listen on the document, after xterm).
 *
 * The page's keys are read from JupyterLab's command registry, so rebinding a
 * command in Settings > Keyboard Shortcuts moves its key: a key leaves the
 * terminal when it starts a binding of one of the panel's commands, of a
 * binding aimed at the panel (its selector names a `jp-TermMux` class), or of
 * one of the few JupyterLab commands a terminal gives way to (find, the
 * command palette). Every other key goes to the program, Ctrl+W and Ctrl+B
 * included. Copy and paste stay fixed keys, as in JupyterLab's terminal: they
 * depend on the selection and on the browser's paste event.
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

/** The part of a Lumino key binding looked at (keys normalized, e.g. `Ctrl Alt PageDown`). */
export interface IBindingLike {
  readonly command: string;
  readonly keys: readonly string[];
  readonly selector: string;
}

export type KeyAction =
  /** Copy the selection (the browser's copy is prevented; the page copies). */
  | 'copy'
  /** Leave it to the browser's native paste, which the tab turns into a chunked paste. */
  | 'paste'
  /** A JupyterLab shortcut (a panel command, find, the palette...): xterm ignores it. */
  | 'lab'
  /** Input for the program. */
  | 'terminal';

export interface IKeyContext {
  pasteWithCtrlV: boolean;
  hasSelection: boolean;
  /** Whether the key starts a binding the terminal gives way to (`PageKeys.leaves`). */
  bound: boolean;
}

/** JupyterLab commands whose keys a terminal gives way to wherever they are bound. */
export const PAGE_COMMANDS: readonly string[] = [
  'documentsearch:start',
  'documentsearch:highlightNext',
  'documentsearch:highlightPrevious',
  'apputils:activate-command-palette'
];

/** Whether a terminal gives way to `binding`'s keys. */
export function isPageBinding(binding: IBindingLike): boolean {
  return (
    binding.command.startsWith('termmux:') ||
    PAGE_COMMANDS.includes(binding.command) ||
    binding.selector.includes('.jp-TermMux')
  );
}

/**
 * The keystrokes that leave a terminal, rebuilt from the registry's bindings
 * whenever one is added or removed.
 */
export class PageKeys {
  /** Take the registry's current bindings. */
  update(bindings: readonly IBindingLike[]): void {
    const bySelector = new Map<string, Set<string>>();
    for (const b of bindings) {
      if (b.keys.length === 0 || !isPageBinding(b)) {
        continue;
      }
      const first = bySelector.get(b.selector) ?? new Set<string>();
      first.add(b.keys[0]);
      bySelector.set(b.selector, first);
    }
    this._bySelector = bySelector;
  }

  /**
   * Whether `keystroke` (normalized, as `CommandRegistry.keystrokeForKeydownEvent`
   * gives it) starts a page binding whose selector applies where the key was typed.
   */
  leaves(keystroke: string, applies: (selector: string) => boolean): boolean {
    if (keystroke === '') {
      return false;
    }
    for (const [selector, keys] of this._bySelector) {
      if (keys.has(keystroke) && applies(selector)) {
        return true;
      }
    }
    return false;
  }

  private _bySelector = new Map<string, Set<string>>();
}

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
  switch (keyName(e)) {
    case 'ctrl+shift+c':
      // Without a selection it stays JupyterLab's (the command palette's, by default).
      if (ctx.hasSelection) {
        return 'copy';
      }
      break;
    case 'ctrl+c':
      // As JupyterLab's terminal: Ctrl+C copies a selection, else it is ^C.
      return ctx.hasSelection ? 'copy' : 'terminal';
    case 'ctrl+shift+v':
      return 'paste';
    case 'ctrl+v':
      return ctx.pasteWithCtrlV ? 'paste' : 'terminal';
  }
  return ctx.bound ? 'lab' : 'terminal';
}
