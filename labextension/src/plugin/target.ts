/**
 * Which tab a command acts on: the one under the context menu (right-clicked
 * in its terminal or on its tab in the panel's tab bar), else the current
 * panel's current tab.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

import { PanelManager } from '../panel/panels';
import { TerminalTab } from '../terminal/terminal';

/** A terminal's area, for context-menu items. */
export const TERMINAL_SELECTOR = '.jp-TermMux-terminal';

/** A tab of the panel's tab bars (terminal.ts puts `data-termmux-tab` on it). */
export const TAB_SELECTOR =
  '.jp-TermMux-panel .lm-TabBar-tab[data-termmux-tab]';

/** The tab whose widget id is `id`, in any panel. */
function findTab(panels: PanelManager, id: string): TerminalTab | null {
  let found: TerminalTab | null = null;
  panels.tracker.forEach(panel => {
    found = found ?? panel.tabs.find(t => t.id === id) ?? null;
  });
  return found;
}

/** The tab under the context menu, else the current panel's current tab. */
export function targetTab(
  app: JupyterFrontEnd,
  panels: PanelManager
): TerminalTab | null {
  const node = app.contextMenuHitTest(
    n =>
      n.classList.contains('jp-TermMux-terminal') ||
      n.dataset.termmuxTab !== undefined
  );
  const id = node ? (node.dataset.termmuxTab ?? node.id) : undefined;
  const hit = id === undefined ? null : findTab(panels, id);
  return hit ?? panels.currentTab;
}
