/**
 * The saved panel state holds only what a reload restores: output flowing
 * (the stream offset moving) leaves it unchanged, so it causes no writes.
 */
import { describe, expect, it } from 'vitest';

import {
  currentIndex,
  ISavableTab,
  nextZoom,
  resumeOf,
  savedTab,
  tabState
} from './panelState';

function tab(offset: number, incarnation = 'inc-A'): ISavableTab {
  return {
    sessionId: '1',
    label: 'build',
    renamed: true,
    mode: 'write',
    resumePoint: { offset, incarnation }
  };
}

describe('panel state', () => {
  it('does not change while output flows: no offset is saved', () => {
    const before = JSON.stringify(tabState(tab(10)));
    expect(JSON.stringify(tabState(tab(5_000_000)))).toBe(before);
    expect(tabState(tab(10))).toEqual({
      sessionId: '1',
      label: 'build',
      renamed: true,
      incarnation: 'inc-A'
    });
  });

  it('changes when the shell behind the name is another one', () => {
    expect(tabState(tab(10, 'inc-B'))).not.toEqual(tabState(tab(10)));
  });

  it('saves a view tab as such, and a tab that has not attached yet without incarnation', () => {
    const view: ISavableTab = { ...tab(0), mode: 'view', resumePoint: null };
    expect(tabState(view)).toEqual({
      sessionId: '1',
      label: 'build',
      renamed: true,
      mode: 'view'
    });
  });

  it('reads back the incarnation only, also from a state saved with an offset', () => {
    const old = { sessionId: '1', label: 'x', offset: 42, incarnation: 'i' };
    expect(resumeOf(old)).toEqual({ incarnation: 'i' });
    expect(resumeOf({ sessionId: '1', label: 'x' })).toBeNull();
    expect(
      resumeOf({ sessionId: '1', label: 'x', incarnation: '' })
    ).toBeNull();
  });
});

describe('reopening saved tabs', () => {
  it('reopens a tab with its label, mode and shell, never an offset', () => {
    const saved = {
      sessionId: '2',
      label: 'logs',
      mode: 'view' as const,
      offset: 9,
      incarnation: 'i'
    };
    expect(savedTab(saved)).toEqual({
      sessionId: '2',
      label: 'logs',
      renamed: false,
      resume: { incarnation: 'i' },
      mode: 'view'
    });
  });

  it('keeps the zoomed font within 6–72 px, 0 resets', () => {
    expect(nextZoom(13, 0, 1)).toBe(1);
    expect(nextZoom(13, 59, 1)).toBe(59);
    expect(nextZoom(13, -7, -1)).toBe(-7);
    expect(nextZoom(13, 5, 0)).toBe(0);
  });
});

describe('the current tab after a reload', () => {
  it('is the saved one when a session has a tab in two panes', () => {
    const sessions = ['1', '2', '1'];
    expect(currentIndex({ current: '1', currentIndex: 2 }, sessions)).toBe(2);
  });

  it("falls back to the session's first tab when the index does not name it", () => {
    const sessions = ['2', '1'];
    expect(currentIndex({ current: '1', currentIndex: 0 }, sessions)).toBe(1);
    expect(currentIndex({ current: '1' }, sessions)).toBe(1); // saved before the index
    expect(currentIndex({ current: null }, sessions)).toBe(-1);
    expect(currentIndex({ current: '9', currentIndex: 5 }, sessions)).toBe(-1);
  });
});
