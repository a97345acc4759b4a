/**
 * Where the panel's commands are offered: every one in the command palette
 * under one category (the palette shows each one's shortcut), the ones that
 * act on a tab in the context menu of its terminal and of its tab in the tab
 * bar, and the launcher tile.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ReadonlyJSONObject } from '@lumino/coreutils';

import { CommandIDs } from './commands';
import { DIRECTIONS, FeatureIDs } from './featureCommands';
import { trans } from '../i18n';
import { SharingIDs } from './sharingCommands';
import { TAB_SELECTOR, TERMINAL_SELECTOR } from './target';

/** The palette's category of every panel command. */
export function paletteCategory(): string {
  return trans().__('Terminal Multiplexer');
}

/** Palette items: command and args (args must equal a key binding's for its shortcut to show). */
export const PALETTE_ITEMS: readonly {
  command: string;
  args?: ReadonlyJSONObject;
}[] = [
  { command: CommandIDs.open, args: { isPalette: true } },
  { command: CommandIDs.newTab },
  { command: FeatureIDs.splitRight },
  { command: FeatureIDs.splitDown },
  { command: FeatureIDs.openHere },
  { command: CommandIDs.nextTab },
  { command: CommandIDs.previousTab },
  ...DIRECTIONS.map(direction => ({
    command: FeatureIDs.focusPane,
    args: { direction }
  })),
  { command: FeatureIDs.togglePanel },
  { command: CommandIDs.renameTab },
  { command: CommandIDs.closeTab },
  { command: CommandIDs.shutdownTab },
  { command: FeatureIDs.copy },
  { command: FeatureIDs.paste },
  { command: FeatureIDs.selectAll },
  { command: FeatureIDs.zoomIn },
  { command: FeatureIDs.zoomOut },
  { command: FeatureIDs.zoomReset },
  { command: SharingIDs.copyViewLink },
  { command: SharingIDs.downloadRecording }
];

/** Context-menu items of a terminal's area, in order. */
export const TERMINAL_MENU: readonly string[] = [
  FeatureIDs.copy,
  FeatureIDs.paste,
  FeatureIDs.selectAll,
  FeatureIDs.splitRight,
  FeatureIDs.splitDown,
  SharingIDs.copyViewLink,
  SharingIDs.downloadRecording
];

/** Context-menu items of a tab in the panel's tab bar, in order. */
export const TAB_MENU: readonly string[] = [
  CommandIDs.renameTab,
  CommandIDs.closeTab,
  CommandIDs.shutdownTab,
  SharingIDs.copyViewLink,
  SharingIDs.downloadRecording
];

/** Palette items, context menus and the launcher tile. */
export function addMenus(
  app: JupyterFrontEnd,
  palette: ICommandPalette | null,
  launcher: ILauncher | null
): void {
  const category = paletteCategory();
  for (const { command, args } of PALETTE_ITEMS) {
    palette?.addItem({ command, category, ...(args ? { args } : {}) });
  }
  TERMINAL_MENU.forEach((command, i) =>
    app.contextMenu.addItem({ command, selector: TERMINAL_SELECTOR, rank: i })
  );
  TAB_MENU.forEach((command, i) =>
    app.contextMenu.addItem({ command, selector: TAB_SELECTOR, rank: i })
  );
  launcher?.add({
    command: CommandIDs.open,
    category: 'Other',
    rank: 0,
    args: { isLauncher: true }
  });
}
