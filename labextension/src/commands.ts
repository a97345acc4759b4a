/** The panel's commands, palette items and launcher tile. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ILauncher } from '@jupyterlab/launcher';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { termmuxIcon } from './icon';
import { TermMuxPanel } from './panel';
import { PanelManager } from './panels';
import { SharingIDs } from './sharingCommands';

/** Command ids. */
export namespace CommandIDs {
  export const open = 'termmux:open';
  export const newTab = 'termmux:new-tab';
  export const openSession = 'termmux:open-session';
  export const closeTab = 'termmux:close-tab';
  export const shutdownTab = 'termmux:shutdown-tab';
  export const nextTab = 'termmux:next-tab';
  export const previousTab = 'termmux:previous-tab';
  export const renameTab = 'termmux:rename-tab';
}

/** Run a command's work; a failure (refusal, timeout, lost connection) is shown, not just logged. */
function reported<T>(work: () => Promise<T>): () => Promise<T | undefined> {
  return async () => {
    try {
      return await work();
    } catch (e) {
      console.error('termmux:', e);
      void showErrorMessage('Terminal multiplexer', e as Error);
      return undefined;
    }
  };
}

/** Register every command of the panel. */
export function addCommands(app: JupyterFrontEnd, panels: PanelManager): void {
  addOpenCommands(app, panels);
  addTabCommands(app, panels);
}

function addOpenCommands(app: JupyterFrontEnd, panels: PanelManager): void {
  const { commands, shell } = app;
  commands.addCommand(CommandIDs.open, {
    label: args =>
      args.isLauncher ? 'Terminals' : 'Open Terminal Multiplexer',
    caption: 'Terminal tabs sharing one connection',
    icon: args => (args.isPalette ? undefined : termmuxIcon),
    execute: (args: ReadonlyPartialJSONObject) =>
      reported(() => openPanel(app, panels, args.panelId))()
  });
  commands.addCommand(CommandIDs.newTab, {
    label: args =>
      typeof args.profile === 'string'
        ? `New Terminal Tab (${args.profile})`
        : 'New Terminal Tab',
    caption: 'Start a terminal in a new tab of the terminal multiplexer',
    execute: args =>
      reported(async () => {
        const profile =
          typeof args.profile === 'string' ? args.profile : undefined;
        const panel = panels.current;
        if (!panel && profile === undefined) {
          return commands.execute(CommandIDs.open);
        }
        const target = panel ?? panels.create();
        shell.activateById(target.id);
        return target.newTab({ profile });
      })()
  });
  commands.addCommand(CommandIDs.openSession, {
    label: args => `Open Terminal ${String(args.sessionId ?? '')} in a Tab`,
    execute: async args => {
      const panel = panels.current ?? panels.create();
      shell.activateById(panel.id);
      return panel.openSession(String(args.sessionId ?? ''));
    }
  });
}

/** Show panel `panelId` (restoring its saved tabs), or a new one with a new terminal. */
async function openPanel(
  app: JupyterFrontEnd,
  panels: PanelManager,
  panelId: unknown
): Promise<TermMuxPanel> {
  const id = typeof panelId === 'string' ? panelId : undefined;
  const existing = id === undefined ? undefined : panels.find(id);
  if (existing) {
    app.shell.activateById(existing.id);
    return existing;
  }
  const panel = panels.create(id);
  const saved = id === undefined ? undefined : await panels.saved(id);
  if (saved) {
    panel.restore(saved);
  } else {
    await panel.newTab();
  }
  app.shell.activateById(panel.id);
  return panel;
}

function addTabCommands(app: JupyterFrontEnd, panels: PanelManager): void {
  const { commands } = app;
  const hasTab = (): boolean => panels.currentTab !== null;
  const hasPanel = (): boolean => panels.current !== null;
  commands.addCommand(CommandIDs.closeTab, {
    label: 'Close Terminal Tab (Keep Session Running)',
    isEnabled: hasTab,
    execute: () => panels.current?.closeTab()
  });
  commands.addCommand(CommandIDs.shutdownTab, {
    label: 'Shut Down Terminal Session…',
    isEnabled: hasTab,
    execute: reported(() => shutdownCurrent(panels))
  });
  commands.addCommand(CommandIDs.nextTab, {
    label: 'Next Terminal Tab',
    isEnabled: hasPanel,
    execute: () => panels.current?.cycleTab(1)
  });
  commands.addCommand(CommandIDs.previousTab, {
    label: 'Previous Terminal Tab',
    isEnabled: hasPanel,
    execute: () => panels.current?.cycleTab(-1)
  });
  commands.addCommand(CommandIDs.renameTab, {
    label: 'Rename Terminal Tab…',
    isEnabled: hasTab,
    execute: args => renameCurrent(panels, args.label)
  });
}

async function shutdownCurrent(panels: PanelManager): Promise<void> {
  const panel = panels.current;
  const tab = panel?.currentTab;
  if (!panel || !tab) {
    return;
  }
  const result = await showDialog({
    title: 'Shut down terminal?',
    body: `Terminate session ${tab.sessionId} (“${tab.title.label}”) and every process in it?`,
    buttons: [Dialog.cancelButton(), Dialog.warnButton({ label: 'Shut Down' })]
  });
  if (result.button.accept) {
    await panel.shutdownTab(tab);
  }
}

async function renameCurrent(
  panels: PanelManager,
  given: unknown
): Promise<void> {
  const panel = panels.current;
  const tab = panel?.currentTab;
  if (!panel || !tab) {
    return;
  }
  let label = typeof given === 'string' ? given : null;
  if (label === null) {
    const result = await InputDialog.getText({
      title: 'Rename Tab',
      text: tab.title.label
    });
    label = result.button.accept ? result.value : null;
  }
  if (label !== null) {
    panel.renameTab(label, tab);
  }
}

/** Palette items and the launcher tile. */
export function addLaunchers(
  palette: ICommandPalette | null,
  launcher: ILauncher | null
): void {
  if (palette) {
    const category = 'Terminal Multiplexer';
    for (const command of [
      CommandIDs.open,
      CommandIDs.newTab,
      CommandIDs.closeTab,
      CommandIDs.shutdownTab,
      CommandIDs.nextTab,
      CommandIDs.previousTab,
      CommandIDs.renameTab,
      SharingIDs.copyViewLink,
      SharingIDs.downloadRecording
    ]) {
      palette.addItem({ command, category, args: { isPalette: true } });
    }
  }
  launcher?.add({
    command: CommandIDs.open,
    category: 'Other',
    rank: 0,
    args: { isLauncher: true }
  });
}
