/**
 * What a tab shows in the tab bar: its label (the program's title, OSC 0/2,
 * unless the user renamed the tab), how the session ended (exit code or
 * signal, the last screen stays below), and marks for output and for a bell
 * (BEL) that arrived while the tab was in the background.
 */
import { trans } from '../i18n';

/** The part of a Lumino Title written to (tests pass a plain object). */
export interface ITitleLike {
  label: string;
  caption: string;
  className: string;
}

export type TabState = 'attaching' | 'attached' | 'exited' | 'gone';

/** `[exit 3]`, `[SIGKILL]` or `[exited]`: how a session ended, for the tab bar. */
export function exitMark(exitCode: number | null, signal?: string): string {
  if (signal !== undefined) {
    return `[${signal}]`;
  }
  const t = trans();
  return exitCode === null ? t.__('[exited]') : t.__('[exit %1]', exitCode);
}

export class TabLabel {
  constructor(
    private readonly _title: ITitleLike,
    label: string,
    renamed = false
  ) {
    this._label = label;
    this._renamed = renamed;
    this._render();
  }

  /** The label without the exit mark (saved for a reload). */
  get label(): string {
    return this._label;
  }

  /** Whether the user named the tab (the program's title no longer applies). */
  get renamed(): boolean {
    return this._renamed;
  }

  get state(): TabState {
    return this._state;
  }

  set state(value: TabState) {
    this._state = value;
    this._render();
  }

  get activity(): boolean {
    return this._activity;
  }

  set activity(value: boolean) {
    this._activity = value;
    this._render();
  }

  get bell(): boolean {
    return this._bell;
  }

  set bell(value: boolean) {
    this._bell = value;
    this._render();
  }

  /** A mark after the label, e.g. how many others watch (`👁 3`); '' for none. */
  get presence(): string {
    return this._presence;
  }

  set presence(value: string) {
    if (value !== this._presence) {
      this._presence = value;
      this._render();
    }
  }

  /** The user's name for the tab. */
  rename(label: string): void {
    this._label = label;
    this._renamed = true;
    this._render();
  }

  /** The program set a title: follow it unless renamed (or told not to). */
  programTitle(title: string, follow: boolean): void {
    const t = title.trim();
    if (follow && !this._renamed && t !== '') {
      this._label = t.slice(0, 200);
      this._render();
    }
  }

  /** The session ended: keep the label, add how. */
  exited(exitCode: number | null, signal?: string): void {
    this._exit = exitMark(exitCode, signal);
    this._state = 'exited';
    this._render();
  }

  private _render(): void {
    const t = this._title;
    const marks = [this._exit, this._presence].filter(m => m !== '');
    t.label = [this._label, ...marks].join(' ');
    const classes = [`jp-TermMux-tab-${this._state}`];
    if (this._activity) {
      classes.push('jp-TermMux-activity');
    }
    if (this._bell) {
      classes.push('jp-TermMux-bell');
    }
    t.className = classes.join(' ');
  }

  private _label: string;
  private _renamed: boolean;
  private _state: TabState = 'attaching';
  private _exit = '';
  private _presence = '';
  private _activity = false;
  private _bell = false;
}
