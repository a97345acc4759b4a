/**
 * A read-only (view) tab: xterm options that take no input and draw no
 * cursor, and the note that says why the tab ignores the keyboard.
 */
import { Widget } from '@lumino/widgets';
import { ITerminalOptions } from '@xterm/xterm';

import { trans } from '../i18n';
import { AttachMode } from '../protocol/protocol';

/** `options` for a view: stdin off (keys produce nothing) and an invisible cursor. */
export function viewOptions(options: ITerminalOptions): ITerminalOptions {
  const hidden = 'rgba(0, 0, 0, 0)';
  return {
    ...options,
    disableStdin: true,
    cursorBlink: false,
    cursorInactiveStyle: 'none',
    theme: { ...options.theme, cursor: hidden, cursorAccent: hidden }
  };
}

/** Mark a view `tab` read-only: a class, a note in the pane, the reason in its tooltip. */
export function markView(
  tab: Widget,
  sessionId: string,
  mode: AttachMode
): void {
  if (mode !== 'view') {
    return;
  }
  tab.addClass('jp-TermMux-view');
  tab.node.dataset.mode = 'view';
  const why = trans().__('read-only view: you can watch, not type');
  tab.title.caption = trans().__('Session %1 (%2)', sessionId, why);
  const note = document.createElement('div');
  note.className = 'jp-TermMux-viewNote';
  note.textContent = why;
  tab.node.appendChild(note);
}
