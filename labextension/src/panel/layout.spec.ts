import { describe, expect, it } from 'vitest';

import { neighbour } from './geometry';
import { areaWidgets, IArea, isSavedArea, mapArea } from './layout';

const layout: IArea<string> = {
  type: 'split-area',
  orientation: 'horizontal',
  sizes: [0.5, 0.5],
  children: [
    { type: 'tab-area', widgets: ['1', '2'], currentIndex: 1 },
    {
      type: 'split-area',
      orientation: 'vertical',
      sizes: [0.3, 0.7],
      children: [
        { type: 'tab-area', widgets: ['3'], currentIndex: 0 },
        { type: 'tab-area', widgets: ['4'], currentIndex: 0 }
      ]
    }
  ]
};

describe('saved layout', () => {
  it('maps widgets both ways and validates what the state DB returns', () => {
    const mapped = mapArea(layout, id => ({ id }));
    expect(areaWidgets(mapped).map(w => w.id)).toEqual(['1', '2', '3', '4']);
    expect(mapArea(mapped!, w => w.id)).toEqual(layout);
    expect(isSavedArea(layout)).toBe(true);
    expect(
      isSavedArea({ type: 'tab-area', widgets: [1], currentIndex: 0 })
    ).toBe(false);
    expect(isSavedArea(null)).toBe(false);
  });

  it('drops sessions that are gone and collapses emptied splits', () => {
    const left = mapArea(layout, id => (id === '3' || id === '1' ? null : id));
    expect(left).toEqual({
      type: 'split-area',
      orientation: 'horizontal',
      sizes: [0.5, 0.5],
      children: [
        { type: 'tab-area', widgets: ['2'], currentIndex: 0 },
        { type: 'tab-area', widgets: ['4'], currentIndex: 0 }
      ]
    });
    expect(mapArea(layout, () => null)).toBeNull();
  });
});

describe('pane navigation', () => {
  // [0 | 1]
  // [0 | 2]
  const rects = [
    { left: 0, top: 0, width: 100, height: 200 },
    { left: 100, top: 0, width: 100, height: 100 },
    { left: 100, top: 100, width: 100, height: 100 }
  ];
  it('finds the pane beside, above or below', () => {
    expect(neighbour(rects, 0, 'right')).toBe(1);
    expect(neighbour(rects, 2, 'left')).toBe(0);
    expect(neighbour(rects, 1, 'down')).toBe(2);
    expect(neighbour(rects, 2, 'up')).toBe(1);
    expect(neighbour(rects, 0, 'left')).toBe(-1);
  });
});
