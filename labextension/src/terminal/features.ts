/**
 * What one tab's xterm.js terminal does besides showing output: clickable
 * links (@xterm/addon-web-links), search (@xterm/addon-search, driven by
 * JupyterLab's search bar through search.ts), the renderer (renderer.ts),
 * the keys left to JupyterLab's shortcuts (keys.ts), copy, chunked paste (paste.ts), and a
 * beforeunload guard while the terminal has focus. The tab (terminal.ts)
 * owns the session; this owns the terminal's extras.
 */
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';
import { SearchAddon } from '@xterm/addon-search';
import { WebLinksAddon } from '@xterm/addon-web-links';
import { WebglAddon } from '@xterm/addon-webgl';
import { Terminal } from '@xterm/xterm';

import { classifyKey, PageKeys } from './keys';
import { ActiveRenderer, RendererSwitch, WebglFactory } from './renderer';
import { ITerminalSettings } from './settings';

/** What the features ask of their tab. */
export interface IFeatureHost {
  settings(): ITerminalSettings;
  /** Paste `text` into the session (chunked, confirmed). */
  paste(text: string): void;
  /** The keys JupyterLab's bindings take from a focused terminal. */
  pageKeys(): PageKeys;
}

/** Load the WebGL addon; throws when the browser gives no WebGL2 context. */
const loadWebgl: WebglFactory = term => {
  const addon = new WebglAddon();
  term.loadAddon(addon);
  return addon;
};

export class TerminalFeatures implements IDisposable {
  constructor(
    private readonly _term: Terminal,
    private readonly _node: HTMLElement,
    private readonly _host: IFeatureHost
  ) {
    this.search = new SearchAddon();
    _term.loadAddon(this.search);
    // Opens the URL in a new browser tab (the addon's default handler, opener cut).
    _term.loadAddon(new WebLinksAddon());
    _term.attachCustomKeyEventHandler(e => this._onKey(e));
    // data-renderer says what draws the terminal (tests and bug reports read it).
    this._renderer = new RendererSwitch((r: ActiveRenderer) => {
      this._node.dataset.renderer = r;
    }, loadWebgl);
    // Capture: take every paste (keys, middle click, menu) before xterm sends it whole.
    _node.addEventListener('paste', this._onPaste, true);
    _node.addEventListener('focusin', this._onFocus);
    _node.addEventListener('focusout', this._onBlur);
  }

  readonly search: SearchAddon;

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Whether a beforeunload guard is set (the terminal has focus). */
  get guarding(): boolean {
    return this._guarding;
  }

  /** Apply the renderer setting; call once the terminal is opened in the DOM. */
  applyRenderer(): void {
    this._renderer.apply(this._term, this._host.settings().renderer);
  }

  /** Copy the selection to the clipboard; false when nothing is selected. */
  async copy(): Promise<boolean> {
    const text = this._term.getSelection();
    if (text === '') {
      return false;
    }
    try {
      await navigator.clipboard.writeText(text);
    } catch {
      // No clipboard API permission: the legacy copy of xterm's own textarea.
      document.execCommand('copy');
    }
    return true;
  }

  /** Paste the clipboard's text (menu and palette; keys use the native paste event). */
  async pasteClipboard(): Promise<void> {
    const text = await navigator.clipboard.readText();
    if (text !== '') {
      this._host.paste(text);
    }
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._onBlur();
    this._node.removeEventListener('paste', this._onPaste, true);
    this._node.removeEventListener('focusin', this._onFocus);
    this._node.removeEventListener('focusout', this._onBlur);
    this._renderer.dispose();
  }

  private _onKey(e: KeyboardEvent): boolean {
    if (e.type !== 'keydown') {
      // The keypress and keyup of a key left to the page are the page's too.
      return !this._pageKeyDown;
    }
    const action = classifyKey(e, {
      pasteWithCtrlV: this._host.settings().pasteWithCtrlV,
      hasSelection: this._term.hasSelection(),
      bound: this._host
        .pageKeys()
        .leaves(CommandRegistry.keystrokeForKeydownEvent(e), this._applies)
    });
    this._pageKeyDown = action !== 'terminal';
    if (action === 'copy') {
      // Not the browser's inspector, nor JupyterLab's palette (Ctrl+Shift+C).
      e.preventDefault();
      e.stopPropagation();
      void this.copy();
    }
    // 'paste': the browser's paste event follows; 'lab': JupyterLab's shortcut.
    return action === 'terminal';
  }

  /** Whether a binding's selector applies in this terminal (as JupyterLab matches it). */
  private _applies = (selector: string): boolean => {
    try {
      return this._node.closest(selector) !== null;
    } catch {
      return false; // not a valid selector
    }
  };

  private _onPaste = (e: ClipboardEvent): void => {
    const text = e.clipboardData?.getData('text/plain') ?? '';
    e.preventDefault();
    e.stopPropagation();
    if (text !== '') {
      this._host.paste(text);
    }
  };

  private _onFocus = (): void => {
    if (!this._guarding) {
      this._guarding = true;
      window.addEventListener('beforeunload', this._onBeforeUnload);
    }
  };

  private _onBlur = (): void => {
    if (this._guarding) {
      this._guarding = false;
      window.removeEventListener('beforeunload', this._onBeforeUnload);
    }
  };

  /** A Ctrl+W the browser kept for itself asks before leaving a focused terminal. */
  private _onBeforeUnload = (e: BeforeUnloadEvent): void => {
    e.preventDefault();
    e.returnValue = '';
  };

  private readonly _renderer: RendererSwitch;
  private _guarding = false;
  private _pageKeyDown = false;
  private _disposed = false;
}
