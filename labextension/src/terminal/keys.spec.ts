import { describe, expect, it } from 'vitest';

import {
  classifyKey,
  IBindingLike,
  IKeyLike,
  isPageBinding,
  keyName,
  PageKeys
} from './keys';

function key(k: string, mods: Partial<IKeyLike> = {}, code = ''): IKeyLike {
  return {
    type: 'keydown',
    key: k,
    code,
    ctrlKey: false,
    shiftKey: false,
    altKey: false,
    metaKey: false,
    ...mods
  };
}

const ctx = { pasteWithCtrlV: true, hasSelection: false, bound: false };

const PANEL = '.jp-TermMux-panel';
const DEFAULTS: IBindingLike[] = [
  { command: 'termmux:next-tab', keys: ['Ctrl Alt PageDown'], selector: PANEL },
  { command: 'termmux:toggle-panel', keys: ['Ctrl `'], selector: 'body' },
  { command: 'documentsearch:start', keys: ['Ctrl F'], selector: 'body' },
  // JupyterLab's: toggle the left area; bash and tmux want Ctrl+B.
  {
    command: 'application:toggle-left-area',
    keys: ['Ctrl B'],
    selector: 'body'
  },
  {
    command: 'notebook:run-cell',
    keys: ['Ctrl Enter'],
    selector: '.jp-Notebook'
  }
];

/** Selectors that apply inside a terminal of the panel. */
const inTerminal = (s: string): boolean => s === 'body' || s === PANEL;

describe('keys', () => {
  it('names keys with their modifiers, Cmd as Ctrl', () => {
    expect(keyName(key('C', { ctrlKey: true, shiftKey: true }))).toBe(
      'ctrl+shift+c'
    );
    expect(keyName(key('c', { metaKey: true }))).toBe('ctrl+c');
    expect(keyName(key('`', { ctrlKey: true }, 'Backquote'))).toBe('ctrl+`');
  });

  it('copies a selection with Ctrl+Shift+C or Ctrl+C', () => {
    const c = key('C', { ctrlKey: true, shiftKey: true });
    expect(classifyKey(c, { ...ctx, hasSelection: true })).toBe('copy');
    // No selection: JupyterLab's command palette keeps its shortcut when bound.
    expect(classifyKey(c, { ...ctx, bound: true })).toBe('lab');
    const plain = key('c', { ctrlKey: true });
    expect(classifyKey(plain, { ...ctx, bound: true })).toBe('terminal');
    expect(classifyKey(plain, { ...ctx, hasSelection: true })).toBe('copy');
  });

  it('pastes with Ctrl+Shift+V, Ctrl+V following pasteWithCtrlV', () => {
    const v = key('v', { ctrlKey: true });
    expect(classifyKey(key('V', { ctrlKey: true, shiftKey: true }), ctx)).toBe(
      'paste'
    );
    expect(classifyKey(v, ctx)).toBe('paste');
    expect(classifyKey(v, { ...ctx, pasteWithCtrlV: false })).toBe('terminal');
  });

  it('leaves a bound key to JupyterLab, gives the rest to the program', () => {
    const next = key('PageDown', { ctrlKey: true, altKey: true });
    expect(classifyKey(next, { ...ctx, bound: true })).toBe('lab');
    expect(classifyKey(next, ctx)).toBe('terminal');
    expect(classifyKey(key('w', { ctrlKey: true }), ctx)).toBe('terminal');
  });

  it('gives way to the panel, find and palette bindings only', () => {
    expect(isPageBinding(DEFAULTS[0])).toBe(true);
    expect(isPageBinding(DEFAULTS[2])).toBe(true);
    expect(isPageBinding(DEFAULTS[3])).toBe(false);
    const aimed = { command: 'x:y', keys: ['Ctrl K'], selector: PANEL };
    expect(isPageBinding(aimed)).toBe(true);
    const keys = new PageKeys();
    keys.update(DEFAULTS);
    expect(keys.leaves('Ctrl Alt PageDown', inTerminal)).toBe(true);
    expect(keys.leaves('Ctrl `', inTerminal)).toBe(true);
    expect(keys.leaves('Ctrl F', inTerminal)).toBe(true);
    expect(keys.leaves('Ctrl B', inTerminal)).toBe(false);
    expect(keys.leaves('Ctrl Enter', () => true)).toBe(false);
    expect(keys.leaves('', inTerminal)).toBe(false);
  });

  it('follows a rebinding: the new key leaves, the old one is the program’s', () => {
    const keys = new PageKeys();
    keys.update(DEFAULTS);
    const rebound = DEFAULTS.map(b =>
      b.command === 'termmux:next-tab' ? { ...b, keys: ['Ctrl Alt N'] } : b
    );
    keys.update(rebound);
    expect(keys.leaves('Ctrl Alt N', inTerminal)).toBe(true);
    expect(keys.leaves('Ctrl Alt PageDown', inTerminal)).toBe(false);
  });

  it('checks the selector where the key was typed', () => {
    const keys = new PageKeys();
    keys.update([
      { command: 'termmux:split-right', keys: ['Ctrl Alt \\'], selector: '.x' }
    ]);
    expect(keys.leaves('Ctrl Alt \\', inTerminal)).toBe(false);
    expect(keys.leaves('Ctrl Alt \\', s => s === '.x')).toBe(true);
  });
});
