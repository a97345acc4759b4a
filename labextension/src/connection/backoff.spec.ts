import { describe, expect, it } from 'vitest';

import { backoffDelay, DEFAULT_BACKOFF } from './backoff';

describe('backoffDelay', () => {
  it('reconnects at once on the first attempt', () => {
    expect(backoffDelay(0, DEFAULT_BACKOFF, () => 0.999)).toBe(0);
  });

  it('grows exponentially with full jitter', () => {
    const opts = { baseMs: 100, maxMs: 1e9, maxAttempts: 10 };
    expect(backoffDelay(1, opts, () => 0.999)).toBe(100);
    expect(backoffDelay(2, opts, () => 0.999)).toBe(300);
    expect(backoffDelay(3, opts, () => 0.999)).toBe(700);
    expect(backoffDelay(3, opts, () => 0)).toBe(0);
    expect(backoffDelay(3, opts, () => 0.5)).toBe(350);
  });

  it('is capped by maxMs', () => {
    const opts = { baseMs: 100, maxMs: 1000, maxAttempts: 10 };
    expect(backoffDelay(30, opts, () => 1 - 1e-12)).toBe(1000);
    expect(backoffDelay(60, opts, () => 1 - 1e-12)).toBe(1000);
  });
});
