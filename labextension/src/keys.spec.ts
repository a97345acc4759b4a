import { describe, expect, it } from 'vitest';

import { classifyKey, IKeyLike, keyName } from './keys';

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

const ctx = { pasteWithCtrlV: true, hasSelection: false };

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
    // No selection: JupyterLab's command palette keeps its shortcut.
    expect(classifyKey(c, ctx)).toBe('lab');
    const plain = key('c', { ctrlKey: true });
    expect(classifyKey(plain, ctx)).toBe('terminal');
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

  it('zooms, leaves find and navigation to JupyterLab, keeps Ctrl+W', () => {
    expect(classifyKey(key('=', { ctrlKey: true }), ctx)).toBe('zoom-in');
    expect(classifyKey(key('-', { ctrlKey: true }), ctx)).toBe('zoom-out');
    expect(classifyKey(key('0', { ctrlKey: true }), ctx)).toBe('zoom-reset');
    expect(classifyKey(key('f', { ctrlKey: true }), ctx)).toBe('lab');
    const next = key('PageDown', { ctrlKey: true, altKey: true });
    expect(classifyKey(next, ctx)).toBe('lab');
    const splitDown = key('-', { ctrlKey: true, altKey: true });
    expect(classifyKey(splitDown, ctx)).toBe('lab');
    expect(classifyKey(key('w', { ctrlKey: true }), ctx)).toBe('terminal');
    expect(classifyKey(key('a'), ctx)).toBe('terminal');
  });
});
