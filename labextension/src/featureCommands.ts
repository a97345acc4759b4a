/**
 * Commands of issue 11: copy/paste/select all (also in the terminal's
 * context menu), splits and pane focus, font zoom, the panel toggle, Open
 * Terminal Here (file browser), new tabs with a shell profile (launcher
 * tiles, one per profile besides the default). Their default shortcuts are
 * declared in schema/plugin.json ("jupyter.lab.shortcuts").
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs } from './commands';
import { Direction } from './geometry';
import { termmuxIcon } from './icon';
import { INewTabOptions, TermMuxPanel } from './panel';
import { PanelManager } from './panels';
import { TerminalTab } from './terminal';

export namespace FeatureIDs {
  export const copy = 'termmux:copy';
  export const paste = 'termmux:paste';
  export const selectAll = 'termmux:select-all';
  export const splitRight = 'termmux:split-right';
  export const splitDown = 'termmux:split-down';
  export const focusPane = 'termmux:focus-pane';
  export const zoomIn = 'termmux:zoom-in';
  export const zoomOut = 'termmux:zoom-out';
  export const zoomReset = 'termmux:zoom-reset';
  export const togglePanel = 'termmux:toggle-panel';
  export const openHere = 'termmux:open-here';
  export const newWithProfile = 'termmux:new-with-profile';
}

/** The tab under the context menu, else the current panel's current tab. */
export function targetTab(
  app: JupyterFrontEnd,
  panels: PanelManager
): TerminalTab | null {
  const node = app.contextMenuHitTest(n =>
    n.classList.contains('jp-TermMux-terminal')
  );
  const hit = node
    ? panels.current?.tabs.find(t => t.node === node)
    : undefined;
  return hit ?? panels.currentTab;
}

/** Register the commands and the terminal's context menu. */
export function addFeatureCommands(
  app: JupyterFrontEnd,
  panels: PanelManager
): void {
  addClipboardCommands(app, panels);
  addPaneCommands(app, panels);
  addOpenCommands(app, panels);
  const selector = '.jp-TermMux-terminal';
  [FeatureIDs.copy, FeatureIDs.paste, FeatureIDs.selectAll].forEach(
    (command, i) => app.contextMenu.addItem({ command, selector, rank: i })
  );
}

function addClipboardCommands(
  app: JupyterFrontEnd,
  panels: PanelManager
): void {
  const { commands } = app;
  const tab = (): TerminalTab | null => targetTab(app, panels);
  commands.addCommand(FeatureIDs.copy, {
    label: 'Copy',
    caption: 'Copy the selection (Ctrl+Shift+C)',
    isEnabled: () => tab()?.terminal.hasSelection() ?? false,
    execute: () => tab()?.features.copy()
  });
  commands.addCommand(FeatureIDs.paste, {
    label: 'Paste',
    caption: 'Paste the clipboard (Ctrl+Shift+V)',
    isEnabled: () => tab() !== null,
    execute: () => tab()?.features.pasteClipboard()
  });
  commands.addCommand(FeatureIDs.selectAll, {
    label: 'Select All',
    isEnabled: () => tab() !== null,
    execute: () => tab()?.terminal.selectAll()
  });
}

function addPaneCommands(app: JupyterFrontEnd, panels: PanelManager): void {
  const { commands } = app;
  const panel = (): TermMuxPanel | null => panels.current;
  const enabled = (): boolean => panel() !== null;
  const split = (options: INewTabOptions) => panel()?.newTab(options);
  commands.addCommand(FeatureIDs.splitRight, {
    label: 'Split Terminal Right',
    isEnabled: enabled,
    execute: () => split({ placement: 'split-right' })
  });
  commands.addCommand(FeatureIDs.splitDown, {
    label: 'Split Terminal Down',
    isEnabled: enabled,
    execute: () => split({ placement: 'split-bottom' })
  });
  commands.addCommand(FeatureIDs.focusPane, {
    label: args => `Focus Terminal Pane ${String(args.direction ?? '')}`,
    isEnabled: enabled,
    execute: args => panel()?.focusPane(String(args.direction) as Direction)
  });
  const zoom = (step: 1 | -1 | 0) => panel()?.zoomBy(step);
  commands.addCommand(FeatureIDs.zoomIn, {
    label: 'Terminal Font Larger',
    isEnabled: enabled,
    execute: () => zoom(1)
  });
  commands.addCommand(FeatureIDs.zoomOut, {
    label: 'Terminal Font Smaller',
    isEnabled: enabled,
    execute: () => zoom(-1)
  });
  commands.addCommand(FeatureIDs.zoomReset, {
    label: 'Terminal Font Reset',
    isEnabled: enabled,
    execute: () => zoom(0)
  });
}

function addOpenCommands(app: JupyterFrontEnd, panels: PanelManager): void {
  const { commands, shell } = app;
  // Resolves to the panel (a launcher closes itself when a command returns a widget).
  const inPanel = async (options: INewTabOptions) => {
    const panel = panels.current ?? panels.create();
    shell.activateById(panel.id);
    await panel.newTab(options);
    return panel;
  };
  commands.addCommand(FeatureIDs.togglePanel, {
    label: 'Toggle Terminal Panel',
    caption: 'Show the terminals, or go back to where you were',
    execute: () => togglePanel(app, panels)
  });
  commands.addCommand(FeatureIDs.openHere, {
    label: 'Open Terminal Here',
    caption: 'A terminal tab starting in this folder',
    icon: termmuxIcon,
    execute: (args: ReadonlyPartialJSONObject) =>
      inPanel({ cwd: String(args.cwd ?? '') })
  });
  commands.addCommand(FeatureIDs.newWithProfile, {
    label: args =>
      args.isLauncher
        ? String(args.profile ?? '')
        : `New Terminal Tab (${String(args.profile ?? '')})`,
    caption: args => `A terminal running the ${String(args.profile)} profile`,
    icon: args => (args.isPalette ? undefined : termmuxIcon),
    execute: args => inPanel({ profile: String(args.profile ?? '') })
  });
}

/** Show the current terminal panel (opening one if needed), or go back to the last other widget. */
async function togglePanel(
  app: JupyterFrontEnd,
  panels: PanelManager
): Promise<void> {
  const current = app.shell.currentWidget;
  const panel = panels.current;
  if (panel && current === panel) {
    const others = [...app.shell.widgets('main')].filter(w => w !== panel);
    const back = panels.previousWidget;
    const target = back && !back.isDisposed ? back : others.pop();
    if (target) {
      app.shell.activateById(target.id);
    }
    return;
  }
  if (panel) {
    app.shell.activateById(panel.id);
    panel.currentTab?.activate();
  } else {
    await app.commands.execute(CommandIDs.open);
  }
}
