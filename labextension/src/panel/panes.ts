/**
 * The panel's terminal area: a Lumino DockPanel, so tabs can be split side by
 * side or stacked (jupyterlab#4407, #8801) and dragged between panes. It
 * knows the current tab (the last one focused), moves focus between panes by
 * their position on screen, and saves its layout by session id (a session
 * shown in two panes is named twice).
 */
import { ISignal, Signal } from '@lumino/signaling';
import { DockLayout, DockPanel, TabBar, Widget } from '@lumino/widgets';

import { Direction, IRect, neighbour } from './geometry';
import { areaWidgets, IArea, mapArea, SavedArea } from './layout';
import { TerminalTab } from '../terminal/terminal';

/** Where a new tab goes: beside the current one, or in a new pane. */
export type Placement = 'tab' | 'split-right' | 'split-bottom';

export class TerminalDock extends DockPanel {
  constructor() {
    super({ tabsMovable: true, addButtonEnabled: true, spacing: 3 });
    this.addClass('jp-TermMux-tabs');
    this.node.addEventListener('focusin', this._onFocusIn);
  }

  /** Every tab, in layout order. */
  get tabs(): TerminalTab[] {
    const saved = this.saveLayout().main as IArea<Widget> | null;
    return areaWidgets(saved).filter(
      (w): w is TerminalTab => w instanceof TerminalTab
    );
  }

  /** The tab last focused or added (null when there is none). */
  get current(): TerminalTab | null {
    const c = this._current;
    // In this dock: a tab dragged into another dock panel is not (Lumino allows that drop).
    if (c !== null && !c.isDisposed && c.parent === this) {
      return c;
    }
    this._current = this.tabs.find(t => t.isVisible) ?? this.tabs[0] ?? null;
    return this._current;
  }

  /** Add `tab` beside the current tab, or in a new pane right of / below it. */
  place(tab: TerminalTab, placement: Placement): void {
    const ref = this.current;
    const mode: DockLayout.InsertMode =
      placement === 'tab' ? 'tab-after' : placement;
    this.addWidget(tab, { mode, ref });
  }

  /** Show `tab` in its pane and make it current (focus only if `focus`). */
  showTab(tab: TerminalTab, focus: boolean): void {
    this._setCurrent(tab);
    if (focus) {
      this.activateWidget(tab);
    } else {
      this.selectWidget(tab);
    }
  }

  /** The tabs of the current tab's pane (none without a current tab). */
  get currentPane(): TerminalTab[] {
    return (this._currentBar()?.titles ?? [])
      .map(t => t.owner)
      .filter((w): w is TerminalTab => w instanceof TerminalTab);
  }

  /** Select the next (+1) or previous (−1) tab of the current pane, wrapping around. */
  cycle(step: 1 | -1): void {
    const bar = this._currentBar();
    if (!bar || bar.titles.length === 0) {
      return;
    }
    const n = bar.titles.length;
    const next = bar.titles[(bar.currentIndex + step + n) % n].owner;
    if (next instanceof TerminalTab) {
      this.showTab(next, true);
    }
  }

  /** Focus the pane next to the current one; false when there is none that way. */
  focusPane(direction: Direction): boolean {
    const visible = this.tabs.filter(t => t.isVisible);
    const from = visible.indexOf(this.current as TerminalTab);
    const rects: IRect[] = visible.map(t => t.node.getBoundingClientRect());
    const to = neighbour(rects, from, direction);
    if (to < 0) {
      return false;
    }
    this.showTab(visible[to], true);
    return true;
  }

  /** The layout with session ids for tabs. */
  savedLayout(): SavedArea | null {
    const main = this.saveLayout().main as IArea<Widget> | null;
    return main === null
      ? null
      : mapArea(main, w => (w instanceof TerminalTab ? w.sessionId : null));
  }

  /** Arrange `tabs` (already added) as `saved` says; tabs it does not name stay put. */
  restoreSaved(saved: SavedArea, tabs: TerminalTab[]): void {
    // A session may be shown in several panes: its tabs are placed in order.
    const byId = new Map<string, TerminalTab[]>();
    for (const t of tabs) {
      byId.set(t.sessionId, [...(byId.get(t.sessionId) ?? []), t]);
    }
    const used = new Set<TerminalTab>();
    const main = mapArea(saved, id => {
      const tab = byId.get(id)?.shift();
      if (tab === undefined) {
        return null;
      }
      used.add(tab);
      return tab as Widget;
    });
    if (main === null) {
      return;
    }
    this.restoreLayout({ main: main as DockLayout.AreaConfig });
    for (const tab of tabs.filter(t => !used.has(t))) {
      this.addWidget(tab, { mode: 'tab-after' });
    }
  }

  dispose(): void {
    this.node.removeEventListener('focusin', this._onFocusIn);
    super.dispose();
  }

  private _currentBar(): TabBar<Widget> | undefined {
    const current = this.current;
    return [...this.tabBars()].find(b =>
      b.titles.some(t => t.owner === current)
    );
  }

  private _setCurrent(tab: TerminalTab): void {
    if (this._current !== tab) {
      this._current?.node.classList.remove('jp-TermMux-current');
      this._current = tab;
      tab.node.classList.add('jp-TermMux-current');
      this._currentChanged.emit(tab);
    }
  }

  private _onFocusIn = (e: FocusEvent): void => {
    const tab = this.tabs.find(t => t.node.contains(e.target as Node));
    if (tab) {
      this._setCurrent(tab);
    }
  };

  /** Emitted when another tab becomes the current one. */
  get currentChanged(): ISignal<this, TerminalTab> {
    return this._currentChanged;
  }

  private _currentChanged = new Signal<this, TerminalTab>(this);
  private _current: TerminalTab | null = null;
}
