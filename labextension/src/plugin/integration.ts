/**
 * Where the panel meets the rest of JupyterLab: Open Terminal Here in the
 * file browser's context menu (jupyterlab#13414, #18147), and a launcher tile
 * per shell profile the server offers besides its default (jupyterlab#4034).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';

import { FeatureIDs } from './featureCommands';
import { trans } from '../i18n';
import { paletteCategory } from './menus';
import { profilesOrNull } from '../panel/profiles';
import { ITermMuxConnection } from '../tokens';

/** The folder a file-browser context menu was opened on, relative to the server root. */
export function folderOf(
  browserPath: string,
  item: { type: string; path: string } | undefined
): string {
  if (item !== undefined && item.type === 'directory') {
    return item.path;
  }
  return browserPath;
}

/** "Open Terminal Here" on folders. */
export function addFileBrowserItems(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null
): void {
  if (!browser) {
    return;
  }
  const command = 'termmux:open-here-from-browser';
  app.commands.addCommand(command, {
    label: trans().__('Open Terminal Here'),
    caption: trans().__('A terminal multiplexer tab starting in this folder'),
    execute: () => {
      const item = browser.selectedItems().next();
      const selected = item && !item.done ? item.value : undefined;
      const cwd = folderOf(browser.model.path, selected);
      return app.commands.execute(FeatureIDs.openHere, { cwd });
    }
  });
  app.contextMenu.addItem({
    command,
    selector: '.jp-DirListing-item[data-isdir="true"]',
    rank: 3
  });
}

/** One launcher tile (and palette item) per non-default profile; none on older servers. */
export async function addProfileLaunchers(
  connection: ITermMuxConnection,
  launcher: ILauncher | null,
  palette: ICommandPalette | null
): Promise<void> {
  if (!launcher && !palette) {
    return;
  }
  let profiles;
  try {
    profiles = await profilesOrNull(connection);
  } catch (e) {
    console.warn('termmux: no shell profiles', e);
    return;
  }
  for (const p of profiles ?? []) {
    if (p.default) {
      continue;
    }
    const args = { profile: p.name };
    launcher?.add({
      command: FeatureIDs.newWithProfile,
      category: 'Other',
      rank: 1,
      args: { ...args, isLauncher: true }
    });
    palette?.addItem({
      command: FeatureIDs.newWithProfile,
      category: paletteCategory(),
      args: { ...args, isPalette: true }
    });
  }
}
