/** One tab's handle on a session of the shared connection (an IDisposable). */
import { AttachMode } from '../protocol/protocol';
import { IResumePoint, ISessionChannel, ISessionListener } from '../tokens';

/** What a channel asks of the connection that made it. */
export interface IChannelHost {
  sendInput(sessionId: string, data: string): void;
  sendResize(sessionId: string, rows: number, cols: number): void;
  release(sessionId: string, listener: ISessionListener): void;
  resumePoint(sessionId: string): IResumePoint | null;
  catchUp(sessionId: string): void;
}

export class SessionChannel implements ISessionChannel {
  constructor(
    readonly sessionId: string,
    private readonly _listener: ISessionListener,
    private readonly _host: IChannelHost,
    private readonly _mode: AttachMode = 'write'
  ) {}

  get isDisposed(): boolean {
    return this._disposed;
  }

  get resumePoint(): IResumePoint | null {
    return this._disposed ? null : this._host.resumePoint(this.sessionId);
  }

  /** Keystrokes of a view tab go nowhere, whatever mode its page holds the session in. */
  send(data: string): void {
    if (!this._disposed && this._mode === 'write') {
      this._host.sendInput(this.sessionId, data);
    }
  }

  resize(rows: number, cols: number): void {
    if (!this._disposed && this._mode === 'write') {
      this._host.sendResize(this.sessionId, rows, cols);
    }
  }

  catchUp(): void {
    if (!this._disposed) {
      this._host.catchUp(this.sessionId);
    }
  }

  /** Stop listening; the last listener of a session detaches it (the PTY keeps running). */
  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._host.release(this.sessionId, this._listener);
  }

  private _disposed = false;
}
