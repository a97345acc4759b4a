/**
 * One tab: an xterm.js terminal bound to one session of the shared connection.
 * The xterm instance lives as long as the tab (never re-mounted on tab
 * switches, so scrollback is kept) and keeps receiving output while hidden,
 * paced (writer.ts) so that it never crowds out the tab in front.
 */
import { Message } from '@lumino/messaging';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';
import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';

import { TerminalConfig } from './config';
import { TerminalFeatures } from './features';
import { TabInput } from './tabInput';
import { TabStatus } from './tabStatus';
import { TabState } from './tabTitle';
import { createTerminal, tabOptions } from './xtermSetup';
import { attachNotices, detachNotice, exitNotice } from './notices';
import { AttachMode } from '../protocol/protocol';
import { presenceMark } from './sharing';
import { TabOutput } from './tabOutput';
import { ITerminalTabOptions } from './tabOptions';
import {
  IAttachInfo,
  IOutputChunk,
  IResumePoint,
  ISessionChannel,
  ISessionListener,
  ITermMuxConnection
} from '../tokens';
import { markView } from './view';

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
    const renamed = options.renamed === true;
    this._label = new TabStatus(this, this.sessionId, options.label, renamed);
    this.mode = options.mode ?? 'write';
    const made = createTerminal(this.node, this._options());
    this._term = made.term;
    this._fitAddon = made.fit;
    markView(this, this.sessionId, this.mode);
    this._output = new TabOutput(this._term);
    this.features = new TerminalFeatures(this._term, this.node, {
      settings: () => this._config.settings,
      paste: text => void this.paste(text),
      pageKeys: () => this._config.pageKeys
    });
    this._config.changed.connect(this.applyConfig, this);
    this._lastResume = options.resume ?? null;
    this._channel = options.connection.attach(
      options.sessionId,
      this,
      options.resume ?? null,
      this.mode
    );
    this._input = new TabInput(this._term, this._channel, this._connection, {
      sessionId: this.sessionId,
      mode: this.mode,
      node: this.node,
      live: () =>
        !this.isDisposed && this.state !== 'exited' && this.state !== 'gone',
      replaying: () => this._output.suppressReplies
    });
    // A view's channel sends no size (the connection drops it): views never resize the PTY.
    this._term.onResize(({ rows, cols }) => this._channel.resize(rows, cols));
    this._label.follow(
      this._term,
      () => this.isVisible && !document.hidden,
      () => this._config.settings.followProgramTitle
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

  /** Paste text into the session: chunked and confirmed, after earlier pastes. */
  paste(text: string): Promise<void> {
    return this._input.paste(text);
  }

  /** Whether output arrived while this tab was hidden and it has not been viewed since. */
  get activity(): boolean {
    return this._label.activity;
  }

  set activity(value: boolean) {
    this._label.activity = value;
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

  onOutput(chunk: IOutputChunk): void {
    if (this._output.write(chunk, this.isVisible)) {
      this.activity = true;
    }
  }

  onReset(preamble: string): void {
    this._output.reset(preamble);
  }

  onExited(exitCode: number | null, signal?: string): void {
    this._output.notice(exitNotice(this.sessionId, exitCode, signal));
    // The last screen stays; the tab says how it ended.
    this._label.exited(exitCode, signal);
  }

  onAttached(info: IAttachInfo): void {
    this._output.attached();
    if (info.rows !== undefined && info.cols !== undefined) {
      this.onResized(info.rows, info.cols);
    }
    attachNotices(info).forEach(note => this._output.notice(note));
    if (info.newShell) {
      this._label.newShell();
    }
    if (this.state !== 'exited') {
      this._label.state = 'attached';
    }
    this._resumeChanged.emit();
  }

  onDetached(reason: string): void {
    if (reason === 'slow') {
      this._label.state = 'attaching';
      return;
    }
    this._output.notice(detachNotice(this.sessionId, reason));
    this._label.state = 'gone';
    this._gone.emit(reason);
  }

  onResized(rows: number, cols: number): void {
    // A view shows the writer's screen cell for cell: at another size the
    // writer's cursor moves and line wraps would land in the wrong places.
    if (this.mode === 'view' && !this.isDisposed) {
      this._term.resize(cols, rows);
    }
  }

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
    this._input.dispose();
    this._channel.dispose();
    this._output.dispose();
    this._config.changed.disconnect(this.applyConfig, this);
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
    this._output.catchUp(); // write at full speed
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
    Object.assign(this._term.options, this._options());
    if (this._opened) {
      this.features.applyRenderer();
    }
    this.refit();
  }

  /** The settings' xterm options; a view takes no input and shows no cursor. */
  private _options() {
    return tabOptions(this._config, this._zoom(), this.mode);
  }

  private readonly _config: TerminalConfig;
  private readonly _connection: ITermMuxConnection;
  private readonly _zoom: () => number;
  private readonly _label: TabStatus;
  private readonly _input: TabInput;
  private readonly _term: Terminal;
  private readonly _fitAddon: FitAddon;
  private readonly _output: TabOutput;
  private readonly _channel: ISessionChannel;
  private _lastResume: IResumePoint | null;
  private _resumeChanged = new Signal<this, void>(this);
  private _opened = false;
  private _gone = new Signal<this, string>(this);
}

export namespace TerminalTab {
  export type IOptions = ITerminalTabOptions;
}
