/**
 * One tab: an xterm.js terminal bound to one session of the shared connection.
 * The xterm instance lives as long as the tab (never re-mounted on tab
 * switches, so scrollback is kept) and keeps receiving output while hidden.
 */
import { IDisposable } from '@lumino/disposable';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

import { TerminalConfig } from './config';
import { xtermTheme } from './theme';
import {
  IAttachInfo,
  IOutputChunk,
  IResumePoint,
  ISessionChannel,
  ISessionListener,
  ITermMuxConnection
} from './tokens';
import { guardReplies } from './replies';
import { TerminalWriter } from './writer';

/** How often, at most, a tab with new output asks for its resume point to be saved. */
const RESUME_SAVE_MS = 5000;

/** Output this soon after an attach does not mark a background tab as active. */
const ACTIVITY_GRACE_MS = 1000;

/** Numbers the tabs' DOM ids. */
let nextTabId = 0;

export type TabState = 'attaching' | 'attached' | 'exited' | 'gone';

export class TerminalTab extends Widget implements ISessionListener {
  constructor(options: TerminalTab.IOptions) {
    super();
    this.sessionId = options.sessionId;
    this._config = options.config;
    this.id = `jp-termmux-tab-${nextTabId++}`;
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
    this._writer = new TerminalWriter(this._term);
    this._replyGuard = guardReplies(
      this._term.parser,
      () => this._writer.suppressReplies
    );
    this._term.onData(data => {
      // Belt and braces: an escape sequence emitted while a replay chunk is
      // parsed is an answer to old output; typed text still goes through.
      const reply = data.startsWith('\x1b') && this._writer.suppressReplies;
      const live = this._state !== 'exited' && this._state !== 'gone';
      if (live && !reply) {
        this._channel.send(data);
      }
    });
    this._term.onResize(({ rows, cols }) => this._channel.resize(rows, cols));
    this._config.changed.connect(this._applyConfig, this);
    this._lastResume = options.resume ?? null;
    this._channel = options.connection.attach(
      options.sessionId,
      this,
      options.resume ?? null
    );
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

  /** Where this tab's stream stands (v2), persisted so a reload can tell a new shell. */
  get resumePoint(): IResumePoint | null {
    // Kept past the session's end, so a reload can still tell a new shell by its name.
    this._lastResume = this._channel.resumePoint ?? this._lastResume;
    return this._lastResume;
  }

  /** Emitted (at most every 5 s) when `resumePoint` moved. */
  get resumeChanged(): ISignal<this, void> {
    return this._resumeChanged;
  }

  // ---------------------------------------------------------------- ISessionListener

  onOutput(chunk: IOutputChunk): void {
    this._writer.write(chunk);
    this._scheduleResumeSave();
    // Output right after (re-)attaching is the shell redrawing, not news.
    const settled = Date.now() - this._attachedAt > ACTIVITY_GRACE_MS;
    if (!this.isVisible && !chunk.replay && settled) {
      this.activity = true;
    }
  }

  onReset(preamble: string): void {
    this._writer.reset(preamble);
  }

  onExited(exitCode: number | null, signal?: string): void {
    const code = exitCode === null ? '' : ` with code ${exitCode}`;
    const by = signal === undefined ? '' : `, killed by ${signal}`;
    this._writer.notice(`session ${this.sessionId} exited${code}${by}`);
    this._setState('exited');
  }

  onAttached(info: IAttachInfo): void {
    this._attachedAt = Date.now();
    if (info.newShell) {
      this._writer.notice(
        'this is a new shell: the session ended and its name was reused'
      );
      this.node.dataset.newShell = 'true';
      this.title.caption = `Session ${this.sessionId} (a new shell under the same name)`;
    }
    if (info.lostBytes > 0) {
      this._writer.notice(
        `${info.lostBytes} bytes of output from while this tab was away are no longer in the history`
      );
    }
    if (this._state !== 'exited') {
      this._setState('attached');
    }
    this._resumeChanged.emit();
  }

  onDetached(reason: string): void {
    if (reason === 'slow') {
      this._setState('attaching');
      return;
    }
    this._writer.notice(`cannot attach session ${this.sessionId}: ${reason}`);
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
    this._writer.dispose();
    this._replyGuard.dispose();
    if (this._resumeTimer !== null) {
      clearTimeout(this._resumeTimer);
    }
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

  private _scheduleResumeSave(): void {
    if (this._resumeTimer === null) {
      this._resumeTimer = setTimeout(() => {
        this._resumeTimer = null;
        this._resumeChanged.emit();
      }, RESUME_SAVE_MS);
    }
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
  private readonly _writer: TerminalWriter;
  private readonly _replyGuard: IDisposable;
  private readonly _channel: ISessionChannel;
  private _resumeTimer: ReturnType<typeof setTimeout> | null = null;
  private _lastResume: IResumePoint | null;
  private _resumeChanged = new Signal<this, void>(this);
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
    /** What the tab saw before a reload (v2). */
    resume?: IResumePoint | null;
    connection: ITermMuxConnection;
    config: TerminalConfig;
  }
}
