/** What every termmux terminal of the page shares: user settings and the light/dark theme. */
import { ISignal, Signal } from '@lumino/signaling';

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

  /** Emitted when the settings or the theme change, to apply them live. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  private _settings: ITerminalSettings = DEFAULT_SETTINGS;
  private _isLight = true;
  private _changed = new Signal<this, void>(this);
}
