/**
 * What every termmux terminal of the page shares: user settings, the page's
 * theme and the keys that leave a terminal (from JupyterLab's key bindings).
 */
import { ISignal, Signal } from '@lumino/signaling';
import type { ITheme } from '@xterm/xterm';

import { PageKeys } from './keys';
import { DEFAULT_SETTINGS, ITerminalSettings } from './settings';

export class TerminalConfig {
  get settings(): ITerminalSettings {
    return this._settings;
  }

  set settings(value: ITerminalSettings) {
    this._settings = value;
    this._changed.emit();
  }

  /** Whether the current JupyterLab theme is light. */
  get isLight(): boolean {
    return this._isLight;
  }

  set isLight(value: boolean) {
    if (value !== this._isLight) {
      this._isLight = value;
      this._changed.emit();
    }
  }

  /** The `inherit` theme's colours, read from the page's CSS variables (null: not read yet). */
  get pageTheme(): ITheme | null {
    return this._pageTheme;
  }

  set pageTheme(value: ITheme | null) {
    this._pageTheme = value;
    this._changed.emit();
  }

  /** The keystrokes a focused terminal leaves to JupyterLab (kept up to date by appearance.ts). */
  readonly pageKeys = new PageKeys();

  /** Emitted when the settings or the theme change, to apply them live. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private _settings: ITerminalSettings = DEFAULT_SETTINGS;
  private _isLight = true;
  private _pageTheme: ITheme | null = null;
  private _changed = new Signal<this, void>(this);
}
