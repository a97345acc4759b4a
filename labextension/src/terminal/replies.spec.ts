/** Parser hooks that keep xterm from answering queries in replayed output. */
import { describe, expect, it } from 'vitest';

import { guardReplies, IParserLike } from './replies';

type Handler = (...args: never[]) => boolean;

/** A fake xterm parser: records hooks by sequence, runs them like xterm (true = handled). */
class FakeParser implements IParserLike {
  hooks = new Map<string, Handler>();
  disposed = 0;
  private _add(key: string, fn: Handler) {
    this.hooks.set(key, fn);
    return { isDisposed: false, dispose: () => void this.disposed++ };
  }
  registerCsiHandler(
    id: { prefix?: string; intermediates?: string; final: string },
    fn: Handler
  ) {
    return this._add(
      `CSI ${id.prefix ?? ''}${id.intermediates ?? ''}${id.final}`,
      fn
    );
  }
  registerDcsHandler(
    id: { prefix?: string; intermediates?: string; final: string },
    fn: Handler
  ) {
    return this._add(`DCS ${id.intermediates ?? ''}${id.final}`, fn);
  }
  registerOscHandler(ident: number, fn: Handler) {
    return this._add(`OSC ${ident}`, fn);
  }
  /** Whether xterm's own handler (which answers) would be skipped. */
  swallowed(key: string, ...args: unknown[]): boolean {
    return (this.hooks.get(key) as (...a: unknown[]) => boolean)(...args);
  }
}

describe('guardReplies', () => {
  it('swallows cursor, status, device-attribute and mode queries only while replaying', () => {
    const parser = new FakeParser();
    let replaying = true;
    guardReplies(parser, () => replaying);
    for (const key of [
      'CSI n',
      'CSI ?n',
      'CSI c',
      'CSI >c',
      'CSI =c',
      'CSI $p',
      'CSI ?$p',
      'CSI >q',
      'DCS $q',
      'DCS +q'
    ]) {
      expect(parser.swallowed(key, [6]), key).toBe(true);
    }
    replaying = false;
    expect(parser.swallowed('CSI n', [6])).toBe(false);
    expect(parser.swallowed('CSI c', [])).toBe(false);
  });

  it('swallows colour queries but not colour settings, window reports but not other window ops', () => {
    const parser = new FakeParser();
    const guard = guardReplies(parser, () => true);
    expect(parser.swallowed('OSC 11', '?')).toBe(true);
    expect(parser.swallowed('OSC 4', '1;?')).toBe(true);
    expect(parser.swallowed('OSC 4', '1;#ff0000')).toBe(false);
    expect(parser.swallowed('CSI t', [18])).toBe(true);
    expect(parser.swallowed('CSI t', [22, 0])).toBe(false);
    guard.dispose();
    expect(parser.disposed).toBe(parser.hooks.size);
    expect(guard.isDisposed).toBe(true);
  });
});
