/** What a terminal tab is made with (TerminalTab.IOptions). */
import { TerminalConfig } from './config';
import { AttachMode } from '../protocol/protocol';
import { IResumePoint, ITermMuxConnection } from '../tokens';

export interface ITerminalTabOptions {
  sessionId: string;
  label?: string;
  /** What the tab saw before a reload (v2). */
  resume?: IResumePoint | null;
  /** The label was given by the user (the program's title does not replace it). */
  renamed?: boolean;
  connection: ITermMuxConnection;
  config: TerminalConfig;
  /** The panel's font zoom, in pixels added to the setting. */
  zoom?: () => number;
  /** `view` for a read-only tab (default `write`). */
  mode?: AttachMode;
}
