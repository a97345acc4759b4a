/**
 * One tab: an xterm.js terminal bound to one session of the shared connection.
 * The xterm instance lives as long as the tab (never re-mounted on tab
 * switches, so scrollback is kept) and keeps receiving output while hidden,
 * paced (writer.ts) so that it never crowds out the tab in front.
 */
import { IDisposable } from '@lumino/disposable';
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { FitAddon } from '@xterm/addon-fit';
import { ITerminalOptions, Terminal } from '@xterm/xterm';

import { TerminalConfig } from './config';
import { TerminalFeatures } from './features';
import { IPasteReport, PasteQueue, preparePaste, reportPaste } from './paste';
import { TabLabel, TabState } from './tabTitle';
import { xtermOptions } from './theme';
import {
  IAttachInfo,
  IOutputChunk,
  IResumePoint,
  ISessionChannel,
  ISessionListener,
  ITermMuxConnection
} from './tokens';
import { AttachMode } from './protocol';
import { guardReplies } from './replies';
import { presenceMark } from './sharing';
import { markView, viewOptions } from './view';
import { ITerminalTabOptions } from './tabOptions';
import { attachNotices, exitNotice } from './notices';
import { TerminalWriter } from './writer';

/** Output this soon after an attach does not mark a background tab as active. */
const ACTIVITY_GRACE_MS = 1000;

/** Numbers the tabs' DOM ids. */
let nextTabId = 0;

export type { TabState } from './tabTitle';

export class TerminalTab extends Widget implements ISessionListener {
  constructor(options: TerminalTab.IOptions) {
    super();
    this.sessionId = options.sessionId;
    this._config = options.config;
    this._connection = options.connection;
    this._zoom = options.zoom ?? (() => 0);
    this.id = `jp-termmux-tab-${nextTabId++}`;
    this.addClass('jp-TermMux-terminal');
    this.node.dataset.sessionId = options.sessionId;
    const label = options.label ?? `Terminal ${options.sessionId}`;
    this._label = new TabLabel(this.title, label, options.renamed === true);
    this.title.caption = `Session ${options.sessionId}`;
    this.title.closable = true;
    this._setState('attaching');
    this.mode = options.mode ?? 'write';
    this._term = new Terminal({
      ...this._xtermOptions(),
      allowProposedApi: true // search match decorations
    });
    markView(this, this.sessionId, this.mode);
    // For browser tests and debugging: with the WebGL renderer the buffer is the only text kept.
    Object.defineProperty(this.node, 'termmuxTerminal', { value: this._term });
    this._fitAddon = new FitAddon();
    this._term.loadAddon(this._fitAddon);
    this._writer = new TerminalWriter(this._term);
    this._replyGuard = guardReplies(
      this._term.parser,
      () => this._writer.suppressReplies
    );
    this.features = new TerminalFeatures(this._term, this.node, {
      settings: () => this._config.settings,
      paste: text => this.paste(text),
      zoom: step => options.onZoom?.(step)
    });
    this._listenTerminal();
    this._config.changed.connect(this._applyConfig, this);
    this._lastResume = options.resume ?? null;
    this._channel = options.connection.attach(
      options.sessionId,
      this,
      options.resume ?? null,
      this.mode
    );
  }

  readonly sessionId: string;

  /** `view`: read-only, rendered at the PTY's size; `write`: the usual tab. */
  readonly mode: AttachMode;

  /** How many others watch the session (from `session.list`), shown in the tab bar. */
  set watchers(others: number) {
    this._label.presence = presenceMark(others);
  }

  /** Links, search, renderer, copy and paste, page keys. */
  readonly features: TerminalFeatures;

  /** The xterm.js instance (for tests and commands such as copy). */
  get terminal(): Terminal {
    return this._term;
  }

  get state(): TabState {
    return this._label.state;
  }

  /** The tab's label without its exit mark. */
  get label(): string {
    return this._label.label;
  }

  /** Whether the user renamed the tab (the program's title is then ignored). */
  get renamed(): boolean {
    return this._label.renamed;
  }

  /** Name the tab (the program's title stops applying). */
  rename(label: string): void {
    this._label.rename(label);
  }

  /** Whether a bell rang while the tab was in the background, not yet viewed. */
  get bell(): boolean {
    return this._label.bell;
  }

  /** Paste text into the session: chunked and confirmed, after earlier pastes. */
  paste(text: string): Promise<void> {
    const bracketed = this._term.modes.bracketedPasteMode;
    return this._paste.paste(preparePaste(text, bracketed));
  }

  /** Whether output arrived while this tab was hidden and it has not been viewed since. */
  get activity(): boolean {
    return this._label.activity;
  }

  set activity(value: boolean) {
    if (value === this._label.activity) {
      return;
    }
    this._label.activity = value;
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

  /** Emitted on each attach: the shell behind the name (`resumePoint.incarnation`) may be another. */
  get resumeChanged(): ISignal<this, void> {
    return this._resumeChanged;
  }

  // ---------------------------------------------------------------- ISessionListener

  onOutput(chunk: IOutputChunk): void {
    // Paced while no tab of the session is in sight, unless the whole page is hidden: then no
    // tab is in front to protect, and the browser throttles the pacing's timers to 1 per second.
    this._writer.background =
      !(chunk.seen ?? this.isVisible) && !document.hidden;
    this._writer.write(chunk);
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
    this._writer.notice(exitNotice(this.sessionId, exitCode, signal));
    // The last screen stays; the tab says how it ended.
    this._label.exited(exitCode, signal);
    this._setState('exited');
    this.node.dataset.exit = signal ?? String(exitCode);
  }

  onAttached(info: IAttachInfo): void {
    this._attachedAt = Date.now();
    this._writer.attached();
    if (info.rows !== undefined && info.cols !== undefined) {
      this.onResized(info.rows, info.cols);
    }
    attachNotices(info).forEach(note => this._writer.notice(note));
    if (info.newShell) {
      this.node.dataset.newShell = 'true';
      this.title.caption = `Session ${this.sessionId} (a new shell under the same name)`;
    }
    if (this.state !== 'exited') {
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

  onResized(rows: number, cols: number): void {
    // A view shows the writer's screen cell for cell: at another size the
    // writer's cursor moves and line wraps would land in the wrong places.
    if (this.mode === 'view' && !this.isDisposed) {
      this._term.resize(cols, rows);
    }
  }

  // ---------------------------------------------------------------- widget

  /** Fit the terminal to the widget and report a size change to the server. */
  refit(): void {
    if (!this._opened || !this.isVisible || this.mode === 'view') {
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
    this._config.changed.disconnect(this._applyConfig, this);
    this.features.dispose();
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
      this.features.applyRenderer();
    }
    this.refit();
  }

  protected onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    this._writer.background = false; // catch up at full speed
    this._channel.catchUp(); // and redraw what went undrawn out of sight (catchup.ts)
    this.activity = false;
    this._label.bell = false;
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

  /** Apply the settings, the theme and the panel's zoom live. */
  applyConfig(): void {
    this._applyConfig();
  }

  private _applyConfig(): void {
    Object.assign(this._term.options, this._xtermOptions());
    if (this._opened) {
      this.features.applyRenderer();
    }
    this.refit();
  }

  /** The settings' xterm options; a view takes no input and shows no cursor. */
  private _xtermOptions(): ITerminalOptions {
    const options = xtermOptions(this._config, this._zoom());
    return this.mode === 'view' ? viewOptions(options) : options;
  }

  private _listenTerminal(): void {
    const term = this._term;
    term.onData(data => {
      // Belt and braces: an escape sequence emitted while a replay chunk is
      // parsed is an answer to old output; typed text still goes through.
      const reply = data.startsWith('\x1b') && this._writer.suppressReplies;
      const live = this.state !== 'exited' && this.state !== 'gone';
      if (live && !reply && this.mode === 'write') {
        this._channel.send(data);
      }
    });
    // A view's channel sends no size (the connection drops it): views never resize the PTY.
    term.onResize(({ rows, cols }) => this._channel.resize(rows, cols));
    term.onTitleChange(title => {
      this._label.programTitle(title, this._config.settings.followProgramTitle);
    });
    term.onBell(() => {
      if (!this.isVisible || document.hidden) {
        this._label.bell = true;
      }
    });
  }

  private _setState(state: TabState): void {
    this._label.state = state;
    this.node.dataset.state = state;
  }

  private readonly _config: TerminalConfig;
  private readonly _connection: ITermMuxConnection;
  private readonly _zoom: () => number;
  private readonly _label: TabLabel;
  private readonly _paste = new PasteQueue(
    chunk => {
      if (this.isDisposed || this.state === 'exited' || this.mode === 'view') {
        return Promise.reject(new Error('the terminal is gone or read-only'));
      }
      return this._connection.sendInputChecked(this.sessionId, chunk);
    },
    (r: IPasteReport) => reportPaste(this.node, r)
  );
  private readonly _term: Terminal;
  private readonly _fitAddon: FitAddon;
  private readonly _writer: TerminalWriter;
  private readonly _replyGuard: IDisposable;
  private readonly _channel: ISessionChannel;
  private _lastResume: IResumePoint | null;
  private _resumeChanged = new Signal<this, void>(this);
  private _opened = false;
  private _attachedAt = 0;
  private _activityChanged = new Signal<this, boolean>(this);
  private _gone = new Signal<this, string>(this);
}

export namespace TerminalTab {
  export type IOptions = ITerminalTabOptions;
}
