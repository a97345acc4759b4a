/**
 * One tab: an xterm.js terminal bound to one session of the shared connection.
 * The xterm instance lives as long as the tab (never re-mounted on tab
 * switches, so scrollback is kept) and keeps receiving output while hidden.
 */
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

import { TerminalConfig } from './config';
import { ISessionChannel, ITermMuxConnection } from './connection';
import { FlowWriter } from './flow';
import { ISessionListener } from './router';
import { xtermTheme } from './theme';

/** ESC c (RIS): full reset, applied in-stream so output xterm already holds is wiped too. */
const FULL_RESET = '\x1bc';

/** Output this soon after an attach does not mark a background tab as active. */
const ACTIVITY_GRACE_MS = 1000;

export type TabState = 'attaching' | 'attached' | 'exited' | 'gone';

export class TerminalTab extends Widget implements ISessionListener {
  constructor(options: TerminalTab.IOptions) {
    super();
    this.sessionId = options.sessionId;
    this._config = options.config;
    this.id = `jp-termmux-tab-${Private.nextId++}`;
    this.addClass('jp-TermMux-terminal');
    this.node.dataset.sessionId = options.sessionId;
    this.title.label = options.label ?? `Terminal ${options.sessionId}`;
    this.title.caption = `Session ${options.sessionId}`;
    this.title.closable = true;
    this._setState('attaching');

    const settings = this._config.settings;
    this._term = new Terminal({
      fontSize: settings.fontSize,
      fontFamily: settings.fontFamily,
      scrollback: settings.scrollback,
      cursorStyle: settings.cursorStyle,
      theme: xtermTheme(this._config.isLight)
    });
    this._fitAddon = new FitAddon();
    this._term.loadAddon(this._fitAddon);
    this._flow = new FlowWriter((data, done) => this._term.write(data, done));
    this._term.onData(data => {
      if (this._state !== 'exited' && this._state !== 'gone') {
        this._channel.send(data);
      }
    });
    this._term.onResize(({ rows, cols }) => this._channel.resize(rows, cols));
    this._config.changed.connect(this._applyConfig, this);
    this._channel = options.connection.attach(options.sessionId, this);
  }

  readonly sessionId: string;

  /** The xterm.js instance (for tests and commands such as copy). */
  get terminal(): Terminal {
    return this._term;
  }

  get state(): TabState {
    return this._state;
  }

  /** Whether output arrived while this tab was hidden and it has not been viewed since. */
  get activity(): boolean {
    return this._activity;
  }

  set activity(value: boolean) {
    if (value === this._activity) {
      return;
    }
    this._activity = value;
    this.title.className = this._titleClass();
    this._activityChanged.emit(value);
  }

  get activityChanged(): ISignal<this, boolean> {
    return this._activityChanged;
  }

  /** Emitted when the session cannot be attached (it no longer exists). */
  get gone(): ISignal<this, string> {
    return this._gone;
  }

  // ---------------------------------------------------------------- ISessionListener

  onOutput(data: string, replay: boolean): void {
    if (replay) {
      // Everything still queued here is in the replay again: drop it, and reset
      // in-stream so what xterm already holds is not doubled either.
      this._flow.clearQueued();
      this._flow.write(FULL_RESET + data);
    } else {
      this._flow.write(data);
    }
    // Output right after (re-)attaching is the shell redrawing for a new size, not news.
    if (!this.isVisible && !replay && Date.now() - this._attachedAt > ACTIVITY_GRACE_MS) {
      this.activity = true;
    }
  }

  onExited(exitCode: number | null): void {
    const how = exitCode === null ? '' : ` with code ${exitCode}`;
    this._flow.write(`\r\n\x1b[2m[session ${this.sessionId} exited${how}]\x1b[0m\r\n`);
    this._setState('exited');
  }

  onAttached(): void {
    this._attachedAt = Date.now();
    if (this._state !== 'exited') {
      this._setState('attached');
    }
  }

  onDetached(reason: string): void {
    if (reason === 'slow') {
      this._setState('attaching');
      return;
    }
    this._flow.write(`\r\n\x1b[2m[cannot attach session ${this.sessionId}: ${reason}]\x1b[0m\r\n`);
    this._setState('gone');
    this._gone.emit(reason);
  }

  // ---------------------------------------------------------------- widget

  /** Fit the terminal to the widget and report a size change to the server. */
  refit(): void {
    if (!this._opened || !this.isVisible) {
      return;
    }
    const rect = this.node.getBoundingClientRect();
    if (rect.width < 1 || rect.height < 1) {
      return;
    }
    try {
      this._fitAddon.fit();
    } catch (e) {
      console.warn('termmux: fit failed', e);
    }
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    // Detaching, not terminating: the PTY keeps running on the server.
    this._channel.dispose();
    this._config.changed.disconnect(this._applyConfig, this);
    this._term.dispose();
    super.dispose();
  }

  protected onCloseRequest(msg: Message): void {
    // Closing a tab ends the widget (and so detaches the session); it is not reused.
    super.onCloseRequest(msg);
    this.dispose();
  }

  protected onAfterAttach(msg: Message): void {
    super.onAfterAttach(msg);
    if (!this._opened) {
      this._term.open(this.node);
      this._opened = true;
    }
    this.refit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this.activity = false;
    this.refit();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this.refit();
  }

  protected onActivateRequest(msg: Message): void {
    super.onActivateRequest(msg);
    this.activity = false;
    this._term.focus();
  }

  private _applyConfig(): void {
    const s = this._config.settings;
    const o = this._term.options;
    o.fontSize = s.fontSize;
    o.fontFamily = s.fontFamily;
    o.scrollback = s.scrollback;
    o.cursorStyle = s.cursorStyle;
    o.theme = xtermTheme(this._config.isLight);
    this.refit();
  }

  private _setState(state: TabState): void {
    this._state = state;
    this.node.dataset.state = state;
    this.title.className = this._titleClass();
  }

  private _titleClass(): string {
    const classes = [`jp-TermMux-tab-${this._state}`];
    if (this._activity) {
      classes.push('jp-TermMux-activity');
    }
    return classes.join(' ');
  }

  private readonly _config: TerminalConfig;
  private readonly _term: Terminal;
  private readonly _fitAddon: FitAddon;
  private readonly _flow: FlowWriter;
  private readonly _channel: ISessionChannel;
  private _state: TabState = 'attaching';
  private _opened = false;
  private _attachedAt = 0;
  private _activity = false;
  private _activityChanged = new Signal<this, boolean>(this);
  private _gone = new Signal<this, string>(this);
}

export namespace TerminalTab {
  export interface IOptions {
    sessionId: string;
    label?: string;
    connection: ITermMuxConnection;
    config: TerminalConfig;
  }
}

namespace Private {
  export let nextId = 0;
}
