/**
 * The terminal's commands: copy/paste/select all, splits and pane focus, font
 * zoom, the panel toggle, Open Terminal Here (file browser), new tabs with a
 * shell profile (launcher tiles, one per profile besides the default). Their
 * default shortcuts are declared in schema/plugin.json ("jupyter.lab.shortcuts");
 * menus.ts puts them in the palette and the context menus.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs, ICommandContext } from './commands';
import { Direction } from '../panel/geometry';
import { trans } from '../i18n';
import { termmuxIcon } from '../panel/icon';
import { INewTabOptions, TermMuxPanel } from '../panel/panel';
import { PanelManager } from '../panel/panels';

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

/** The four directions of `termmux:focus-pane`, as the palette lists them. */
export const DIRECTIONS: readonly Direction[] = ['left', 'right', 'up', 'down'];

/** Register the terminal's commands. */
export function addFeatureCommands(ctx: ICommandContext): void {
  addClipboardCommands(ctx);
  addPaneCommands(ctx);
  addOpenCommands(ctx);
}

function addClipboardCommands(ctx: ICommandContext): void {
  const { commands } = ctx.app;
  const tab = ctx.target;
  const t = trans();
  commands.addCommand(FeatureIDs.copy, {
    label: t.__('Copy'),
    caption: t.__('Copy the selection (Ctrl+Shift+C)'),
    isEnabled: () => tab()?.terminal.hasSelection() ?? false,
    execute: () => tab()?.features.copy()
  });
  commands.addCommand(FeatureIDs.paste, {
    label: t.__('Paste'),
    caption: t.__('Paste the clipboard (Ctrl+Shift+V)'),
    isEnabled: () => tab() !== null,
    execute: () => tab()?.features.pasteClipboard()
  });
  commands.addCommand(FeatureIDs.selectAll, {
    label: t.__('Select All'),
    isEnabled: () => tab() !== null,
    execute: () => tab()?.terminal.selectAll()
  });
}

function addPaneCommands(ctx: ICommandContext): void {
  const { commands } = ctx.app;
  const t = trans();
  const panel = (): TermMuxPanel | null => ctx.panels.current;
  const enabled = (): boolean => panel() !== null;
  const mayCreate = (): boolean => enabled() && ctx.mayCreate();
  const split = (options: INewTabOptions) => panel()?.newTab(options);
  commands.addCommand(FeatureIDs.splitRight, {
    label: t.__('Split Terminal Right'),
    isEnabled: mayCreate,
    execute: () => split({ placement: 'split-right' })
  });
  commands.addCommand(FeatureIDs.splitDown, {
    label: t.__('Split Terminal Down'),
    isEnabled: mayCreate,
    execute: () => split({ placement: 'split-bottom' })
  });
  const paneLabels: { [d: string]: string } = {
    left: t.__('Focus Terminal Pane Left'),
    right: t.__('Focus Terminal Pane Right'),
    up: t.__('Focus Terminal Pane Above'),
    down: t.__('Focus Terminal Pane Below')
  };
  commands.addCommand(FeatureIDs.focusPane, {
    label: args =>
      paneLabels[String(args.direction)] ?? t.__('Focus Terminal Pane'),
    isEnabled: enabled,
    execute: args => panel()?.focusPane(String(args.direction) as Direction)
  });
  const zoom = (step: 1 | -1 | 0) => panel()?.zoomBy(step);
  commands.addCommand(FeatureIDs.zoomIn, {
    label: t.__('Terminal Font Larger'),
    isEnabled: enabled,
    execute: () => zoom(1)
  });
  commands.addCommand(FeatureIDs.zoomOut, {
    label: t.__('Terminal Font Smaller'),
    isEnabled: enabled,
    execute: () => zoom(-1)
  });
  commands.addCommand(FeatureIDs.zoomReset, {
    label: t.__('Terminal Font Reset'),
    isEnabled: enabled,
    execute: () => zoom(0)
  });
}

function addOpenCommands(ctx: ICommandContext): void {
  const { app, panels } = ctx;
  const { commands, shell } = app;
  const t = trans();
  // Resolves to the panel (a launcher closes itself when a command returns a widget).
  const inPanel = async (options: INewTabOptions) => {
    const panel = panels.current ?? panels.create();
    shell.activateById(panel.id);
    await panel.newTab(options);
    return panel;
  };
  commands.addCommand(FeatureIDs.togglePanel, {
    label: t.__('Toggle Terminal Panel'),
    caption: t.__('Show the terminals, or go back to where you were'),
    execute: () => togglePanel(app, panels)
  });
  commands.addCommand(FeatureIDs.openHere, {
    label: t.__('Open Terminal Here'),
    caption: t.__(
      'A terminal tab starting in this folder (from the palette: the file browser’s folder)'
    ),
    icon: termmuxIcon,
    isEnabled: ctx.mayCreate,
    // Without a folder (the palette), "+ New"'s: the one the file browser shows.
    execute: (args: ReadonlyPartialJSONObject) =>
      inPanel({ cwd: typeof args.cwd === 'string' ? args.cwd : undefined })
  });
  commands.addCommand(FeatureIDs.newWithProfile, {
    label: args =>
      args.isLauncher
        ? String(args.profile ?? '')
        : t.__('New Terminal Tab (%1)', String(args.profile ?? '')),
    caption: args =>
      t.__('A terminal running the %1 profile', String(args.profile)),
    icon: args => (args.isPalette ? undefined : termmuxIcon),
    isEnabled: ctx.mayCreate,
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
