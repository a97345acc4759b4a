/**
 * JupyterLab's search bar (Edit > Find…, Ctrl+F) in a termmux panel: a search
 * provider, as @jupyterlab/terminal-extension registers one for its own
 * terminal, searching the panel's current tab with @xterm/addon-search
 * (scrollback included), next/previous, matches highlighted.
 */
import { ISearchProvider, SearchProvider } from '@jupyterlab/documentsearch';
import { Widget } from '@lumino/widgets';
import { ISearchOptions } from '@xterm/addon-search';

import { TermMuxPanel } from './panel';
import { TerminalTab } from '../terminal/terminal';

/** xterm.js search options for a JupyterLab query (its flags carry case sensitivity). */
export function searchOptions(flags: string): ISearchOptions {
  return {
    regex: true,
    caseSensitive: !flags.includes('i'),
    wholeWord: false, // JupyterLab puts whole-word in the regex
    incremental: false,
    decorations: {
      // #rrggbb only; readable on the light and the dark theme.
      matchBackground: '#b8860b',
      activeMatchBackground: '#ff8c00',
      matchOverviewRuler: '#fff59d',
      activeMatchColorOverviewRuler: '#ff9800'
    }
  };
}

export class TermMuxSearchProvider extends SearchProvider<TermMuxPanel> {
  constructor(widget: TermMuxPanel) {
    super(widget);
  }

  /** Whether the search bar may search `domain` (a termmux panel). */
  static isApplicable(domain: Widget): domain is TermMuxPanel {
    return domain instanceof TermMuxPanel;
  }

  /** The registry calls this only for widgets `isApplicable` accepted. */
  static createNew(widget: Widget): ISearchProvider {
    return new TermMuxSearchProvider(widget as TermMuxPanel);
  }

  readonly isReadOnly = true;

  get matchesCount(): number | null {
    return this._count;
  }

  get currentMatchIndex(): number | null {
    return this._index;
  }

  async startQuery(query: RegExp): Promise<void> {
    this._query = query;
    this._bind(this.widget.currentTab);
    this._find(1);
  }

  async endQuery(): Promise<void> {
    this._clear();
    this._query = null;
  }

  async clearHighlight(): Promise<void> {
    this._clear();
  }

  async highlightNext(): Promise<undefined> {
    this._find(1);
    return undefined;
  }

  async highlightPrevious(): Promise<undefined> {
    this._find(-1);
    return undefined;
  }

  async replaceCurrentMatch(): Promise<boolean> {
    return false; // a terminal's output is read-only
  }

  async replaceAllMatches(): Promise<boolean> {
    return false;
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._clear();
    super.dispose();
  }

  /** Follow the tab being searched: its result events update the counter. */
  private _bind(tab: TerminalTab | null): void {
    if (tab === this._tab) {
      return;
    }
    this._clear();
    this._results?.dispose();
    this._tab = tab;
    this._results =
      tab?.features.search.onDidChangeResults(
        ({ resultIndex, resultCount }) => {
          this._count = resultCount > 0 ? resultCount : null;
          this._index =
            resultCount > 0 && resultIndex >= 0 ? resultIndex : null;
          tab.node.dataset.searchResults = `${resultIndex + 1}/${resultCount}`;
        }
      ) ?? null;
  }

  private _find(step: 1 | -1): void {
    const query = this._query;
    const tab = this.widget.currentTab;
    if (query === null || tab === null) {
      return;
    }
    this._bind(tab);
    const search = tab.features.search;
    const options = searchOptions(query.flags);
    if (step === 1) {
      search.findNext(query.source, options);
    } else {
      search.findPrevious(query.source, options);
    }
  }

  private _clear(): void {
    this._tab?.features.search.clearDecorations();
    this._tab?.terminal.clearSelection();
    this._count = null;
    this._index = null;
  }

  private _query: RegExp | null = null;
  private _tab: TerminalTab | null = null;
  private _results: { dispose(): void } | null = null;
  private _count: number | null = null;
  private _index: number | null = null;
}
