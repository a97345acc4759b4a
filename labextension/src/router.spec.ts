import { describe, expect, it } from 'vitest';

import { ISessionListener, SessionRouter } from './router';

function listener(): ISessionListener & { out: string[] } {
  const out: string[] = [];
  return {
    out,
    onOutput: data => out.push(data),
    onExited: () => out.push('<exit>'),
    onAttached: () => undefined,
    onDetached: () => undefined
  };
}

describe('SessionRouter', () => {
  it('says attach for the first listener and detach for the last', () => {
    const r = new SessionRouter();
    const a = listener();
    const b = listener();
    expect(r.add('1', a)).toBe(true);
    expect(r.add('1', b)).toBe(false);
    expect(r.remove('1', a)).toBe(false);
    expect(r.remove('1', b)).toBe(true);
    expect(r.has('1')).toBe(false);
  });

  it('is idempotent on remove', () => {
    const r = new SessionRouter();
    const a = listener();
    r.add('1', a);
    expect(r.remove('1', a)).toBe(true);
    expect(r.remove('1', a)).toBe(false);
    expect(r.remove('2', a)).toBe(false);
  });

  it('routes per session only', () => {
    const r = new SessionRouter();
    const a = listener();
    const b = listener();
    r.add('1', a);
    r.add('2', b);
    expect(r.listeners('1')).toEqual([a]);
    expect(r.listeners('2')).toEqual([b]);
    expect(r.listeners('3')).toEqual([]);
    expect(r.sessions().sort()).toEqual(['1', '2']);
  });

  it('drops every listener of an exited session', () => {
    const r = new SessionRouter();
    const a = listener();
    const b = listener();
    r.add('1', a);
    r.add('1', b);
    expect(r.drop('1')).toEqual([a, b]);
    expect(r.has('1')).toBe(false);
    expect(r.drop('1')).toEqual([]);
  });
});
