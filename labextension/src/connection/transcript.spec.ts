/** The v1 copy of what a session's tabs were given: where it starts, and its limit. */
import { describe, expect, it } from 'vitest';

import { SCHEMA } from '../protocol/schemaData';
import { Transcript } from './transcript';

describe('Transcript', () => {
  it('holds live output from a blank screen', () => {
    const t = new Transcript();
    expect(t.text()).toBe('');
    t.add('a', false);
    t.add('b', false);
    expect(t.text()).toBe('ab');
  });

  it('starts again at the first chunk of a replay, and only there', () => {
    const t = new Transcript();
    t.add('old', false);
    t.add('r1', true);
    t.add('r2', true);
    t.add('live', false);
    expect(t.text()).toBe('r1r2live');
    t.add('not a new screen', false);
    t.restart(); // an attach answer
    t.add('new', true);
    expect(t.text()).toBe('new');
  });

  it('is dropped past its limit until a replay starts a new screen', () => {
    const t = new Transcript(4);
    t.add('abcd', false);
    expect(t.text()).toBe('abcd');
    t.add('e', false);
    expect(t.text()).toBeNull();
    t.add('f', false);
    expect(t.text()).toBeNull();
    t.restart();
    t.add('g', true);
    expect(t.text()).toBe('g');
  });

  it("by default holds a full replay of the server's default history, its preamble and as much live output again", () => {
    const t = new Transcript();
    const history = SCHEMA.defaults.historyLimit;
    t.add('\x1b[?1049h', true); // the preamble
    t.add('r'.repeat(history), true);
    t.add('l'.repeat(history - 16), false);
    expect(t.text()?.length).toBe(2 * history - 16 + 8);
  });

  it('holds nothing once the tabs were given bytes it did not copy', () => {
    const t = new Transcript();
    t.add('a', false);
    t.lose();
    t.add('b', false);
    expect(t.text()).toBeNull();
  });
});
