import { describe, expect, it } from 'vitest';

import {
  ActiveRenderer,
  IWebglLike,
  RendererSwitch,
  wantsWebgl
} from './renderer';

/** A WebGL addon whose context the test loses by hand. */
class FakeWebgl implements IWebglLike {
  lose: (() => void) | null = null;
  disposed = false;
  onContextLoss(listener: () => void) {
    this.lose = listener;
    return { dispose: () => undefined };
  }
  dispose(): void {
    this.disposed = true;
  }
}

// The switch never touches the terminal itself; the factory does.
const term = {} as never;

describe('renderer', () => {
  it('uses WebGL when asked and falls back to DOM on context loss, for good', () => {
    const seen: ActiveRenderer[] = [];
    const made: FakeWebgl[] = [];
    const r = new RendererSwitch(
      a => seen.push(a),
      () => {
        made.push(new FakeWebgl());
        return made[made.length - 1];
      },
      () => 'ANGLE (NVIDIA GeForce)'
    );
    r.apply(term, 'auto');
    expect(r.active).toBe('webgl');
    made[0].lose!();
    expect(r.active).toBe('dom');
    expect(made[0].disposed).toBe(true);
    expect(r.failure).toBe('WebGL context lost');
    r.apply(term, 'webgl');
    expect(made).toHaveLength(1); // not retried after a loss
    expect(seen).toEqual(['webgl', 'dom', 'dom']);
  });

  it('falls back to DOM when WebGL cannot start, and drops it for "dom"', () => {
    const failing = new RendererSwitch(
      () => undefined,
      () => {
        throw new Error('no WebGL2');
      }
    );
    failing.apply(term, 'webgl');
    expect(failing.active).toBe('dom');
    expect(failing.failure).toBe('no WebGL2');

    const addon = new FakeWebgl();
    const r = new RendererSwitch(
      () => undefined,
      () => addon
    );
    r.apply(term, 'webgl');
    r.apply(term, 'dom');
    expect(r.active).toBe('dom');
    expect(addon.disposed).toBe(true);
  });
});

describe('auto renderer', () => {
  it('takes WebGL on a GPU only, never on software GL or without WebGL2', () => {
    expect(wantsWebgl('auto', 'ANGLE (Intel, Mesa Intel UHD)')).toBe(true);
    expect(wantsWebgl('auto', 'ANGLE (SwiftShader Device (Subzero))')).toBe(
      false
    );
    expect(wantsWebgl('auto', 'llvmpipe (LLVM 15.0.6)')).toBe(false);
    expect(wantsWebgl('auto', null)).toBe(false);
    expect(wantsWebgl('webgl', 'SwiftShader')).toBe(true);
    expect(wantsWebgl('dom', 'ANGLE (NVIDIA)')).toBe(false);
  });
});
