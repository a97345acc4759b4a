/**
 * A tab's xterm.js instance and its options: the user's settings, the theme,
 * the panel's zoom, OSC 8 links that ask before opening (links.ts), and for a
 * read-only view no input and no cursor (view.ts).
 */
import { FitAddon } from '@xterm/addon-fit';
import { ITerminalOptions, Terminal } from '@xterm/xterm';

import { osc8Links } from './links';
import { AttachMode } from '../protocol/protocol';
import { IThemeSource, xtermOptions } from './theme';
import { viewOptions } from './view';

/** The live options of a tab's terminal (applied again on every settings or theme change). */
export function tabOptions(
  config: IThemeSource,
  zoom: number,
  mode: AttachMode
): ITerminalOptions {
  const options = xtermOptions(config, zoom);
  return mode === 'view' ? viewOptions(options) : options;
}

/** A new terminal for a tab whose node is `node`, with its fit addon. */
export function createTerminal(
  node: HTMLElement,
  options: ITerminalOptions
): { term: Terminal; fit: FitAddon } {
  const term = new Terminal({
    ...options,
    linkHandler: osc8Links,
    allowProposedApi: true // search match decorations
  });
  // For browser tests and debugging: with the WebGL renderer the buffer is the only text kept.
  Object.defineProperty(node, 'termmuxTerminal', { value: term });
  const fit = new FitAddon();
  term.loadAddon(fit);
  return { term, fit };
}
