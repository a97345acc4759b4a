/** Timers, injected so the socket and request state machines test deterministically. */

export interface ITimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: ITimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: handle => clearTimeout(handle as ReturnType<typeof setTimeout>)
};

/** Runs `fn` once, `ms` after the first of any number of `schedule()` calls since it last ran. */
export class Coalescer {
  constructor(
    private readonly _fn: () => void,
    private readonly _ms: number
  ) {}

  schedule(): void {
    if (this._timer === null) {
      this._timer = setTimeout(() => {
        this._timer = null;
        this._fn();
      }, this._ms);
    }
  }

  dispose(): void {
    if (this._timer !== null) {
      clearTimeout(this._timer);
      this._timer = null;
    }
  }

  private _timer: ReturnType<typeof setTimeout> | null = null;
}
