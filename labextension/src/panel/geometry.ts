/** Pane navigation: the pane next to the current one in a direction, by on-screen position. */

export type Direction = 'left' | 'right' | 'up' | 'down';

export interface IRect {
  left: number;
  top: number;
  width: number;
  height: number;
}

/**
 * Index of the rect nearest to `rects[from]` in `direction` (its centre past
 * the current one's edge), favouring rects aligned with it; -1 when none.
 */
export function neighbour(
  rects: IRect[],
  from: number,
  direction: Direction
): number {
  const c = rects[from];
  if (c === undefined) {
    return -1;
  }
  const cx = c.left + c.width / 2;
  const cy = c.top + c.height / 2;
  let best = -1;
  let bestScore = Infinity;
  rects.forEach((r, i) => {
    if (i === from) {
      return;
    }
    const x = r.left + r.width / 2;
    const y = r.top + r.height / 2;
    const ahead: { [d in Direction]: number } = {
      right: x - (c.left + c.width),
      left: c.left - x,
      down: y - (c.top + c.height),
      up: c.top - y
    };
    const along = ahead[direction];
    if (along < 0) {
      return;
    }
    const across =
      direction === 'left' || direction === 'right'
        ? Math.abs(y - cy)
        : Math.abs(x - cx);
    const score = along + 2 * across;
    if (score < bestScore) {
      bestScore = score;
      best = i;
    }
  });
  return best;
}
