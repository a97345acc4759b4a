/**
 * A panel's split layout as saved in the state DB: Lumino's DockPanel layout
 * with each widget replaced by its session id, and back. Pure functions over
 * the layout's shape (Lumino's DockLayout.ILayoutConfig), tested without a DOM.
 */

/** A tab area of widgets `W` (Lumino's DockLayout.ITabAreaConfig). */
export interface ITabArea<W> {
  type: 'tab-area';
  widgets: W[];
  currentIndex: number;
}

/** A split of areas (Lumino's DockLayout.ISplitAreaConfig). */
export interface ISplitArea<W> {
  type: 'split-area';
  orientation: 'horizontal' | 'vertical';
  children: Array<IArea<W>>;
  sizes: number[];
}

export type IArea<W> = ITabArea<W> | ISplitArea<W>;

/** The saved form: session ids for widgets. */
export type SavedArea = IArea<string>;

/** Replace every widget by `f(widget)`, dropping those it maps to null and areas left empty. */
export function mapArea<A, B>(
  area: IArea<A>,
  f: (w: A) => B | null
): IArea<B> | null {
  if (area.type === 'tab-area') {
    const widgets: B[] = [];
    let currentIndex = 0;
    area.widgets.forEach((w, i) => {
      const mapped = f(w);
      if (mapped !== null) {
        if (i === area.currentIndex) {
          currentIndex = widgets.length;
        }
        widgets.push(mapped);
      }
    });
    return widgets.length === 0
      ? null
      : { type: 'tab-area', widgets, currentIndex };
  }
  const children: Array<IArea<B>> = [];
  const sizes: number[] = [];
  area.children.forEach((child, i) => {
    const mapped = mapArea(child, f);
    if (mapped !== null) {
      children.push(mapped);
      sizes.push(area.sizes[i] ?? 1);
    }
  });
  if (children.length <= 1) {
    return children[0] ?? null;
  }
  return { type: 'split-area', orientation: area.orientation, children, sizes };
}

/** Every widget of an area, in layout order. */
export function areaWidgets<W>(area: IArea<W> | null): W[] {
  if (area === null) {
    return [];
  }
  return area.type === 'tab-area'
    ? [...area.widgets]
    : area.children.flatMap(c => areaWidgets(c));
}

/** Whether `value` has the shape of a saved area (it comes from the state DB). */
export function isSavedArea(value: unknown): value is SavedArea {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const v = value as { [key: string]: unknown };
  if (v.type === 'tab-area') {
    return (
      Array.isArray(v.widgets) &&
      v.widgets.every(w => typeof w === 'string') &&
      typeof v.currentIndex === 'number'
    );
  }
  return (
    v.type === 'split-area' &&
    (v.orientation === 'horizontal' || v.orientation === 'vertical') &&
    Array.isArray(v.children) &&
    Array.isArray(v.sizes) &&
    v.sizes.every(s => typeof s === 'number') &&
    v.children.every(isSavedArea)
  );
}
