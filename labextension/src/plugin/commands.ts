/** The panel's commands: opening panels and tabs, and what acts on one tab. */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  InputDialog,
  showDialog,
  showErrorMessage
} from '@jupyterlab/apputils';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { trans } from '../i18n';
import { termmuxIcon } from '../panel/icon';
import { TermMuxPanel } from '../panel/panel';
import { PanelManager } from '../panel/panels';
import { TerminalTab } from '../terminal/terminal';

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

/** What the commands act on. */
export interface ICommandContext {
  app: JupyterFrontEnd;
  panels: PanelManager;
  /** The tab under the context menu, else the current one (target.ts). */
  target: () => TerminalTab | null;
  /** Whether this user may start terminals (read-only viewers may not). */
  mayCreate: () => boolean;
  /** Resolves once the connection knows what this user may do. */
  accessKnown: () => Promise<void>;
}

/** Run a command's work; a failure (refusal, timeout, lost connection) is shown, not just logged. */
export function reported<T>(
  work: () => Promise<T>
): () => Promise<T | undefined> {
  return async () => {
    try {
      return await work();
    } catch (e) {
      console.error('termmux:', e);
      void showErrorMessage(trans().__('Terminal multiplexer'), e as Error);
      return undefined;
    }
  };
}

/** Register every command of the panel. */
export function addCommands(ctx: ICommandContext): void {
  addOpenCommands(ctx);
  addTabCommands(ctx);
}

function addOpenCommands(ctx: ICommandContext): void {
  const { app, panels } = ctx;
  const { commands, shell } = app;
  const t = trans();
  commands.addCommand(CommandIDs.open, {
    label: args =>
      args.isLauncher ? t.__('Terminals') : t.__('Open Terminal Multiplexer'),
    caption: t.__('Terminal tabs sharing one connection'),
    icon: args => (args.isPalette ? undefined : termmuxIcon),
    execute: (args: ReadonlyPartialJSONObject) =>
      reported(() => openPanel(ctx, args.panelId))()
  });
  commands.addCommand(CommandIDs.newTab, {
    label: args =>
      typeof args.profile === 'string'
        ? t.__('New Terminal Tab (%1)', args.profile)
        : t.__('New Terminal Tab'),
    caption: t.__('Start a terminal in a new tab of the terminal multiplexer'),
    isEnabled: ctx.mayCreate,
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
    label: args =>
      t.__('Open Terminal %1 in a Tab', String(args.sessionId ?? '')),
    execute: async args => {
      const panel = panels.current ?? panels.create();
      shell.activateById(panel.id);
      return panel.openSession(String(args.sessionId ?? ''));
    }
  });
}

/** Show panel `panelId` (restoring its saved tabs), or a new one with a new terminal. */
async function openPanel(
  ctx: ICommandContext,
  panelId: unknown
): Promise<TermMuxPanel> {
  const { app, panels } = ctx;
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
    // A read-only user gets an empty panel (Attach ▾ opens running terminals).
    await ctx.accessKnown();
    if (ctx.mayCreate()) {
      await panel.newTab();
    }
  }
  app.shell.activateById(panel.id);
  return panel;
}

/** The panel that shows `tab`. */
function panelOf(panels: PanelManager, tab: TerminalTab): TermMuxPanel | null {
  return panels.tracker.find(p => p.tabs.includes(tab)) ?? null;
}

function addTabCommands(ctx: ICommandContext): void {
  const { commands } = ctx.app;
  const { panels, target } = ctx;
  const t = trans();
  const hasTab = (): boolean => target() !== null;
  const hasPanel = (): boolean => panels.current !== null;
  commands.addCommand(CommandIDs.closeTab, {
    label: t.__('Close Terminal Tab (Keep Session Running)'),
    isEnabled: hasTab,
    execute: () => target()?.close()
  });
  commands.addCommand(CommandIDs.shutdownTab, {
    label: t.__('Shut Down Terminal Session…'),
    isEnabled: () => hasTab() && ctx.mayCreate(),
    execute: reported(() => shutdownTab(panels, target()))
  });
  commands.addCommand(CommandIDs.nextTab, {
    label: t.__('Next Terminal Tab'),
    isEnabled: hasPanel,
    execute: () => panels.current?.cycleTab(1)
  });
  commands.addCommand(CommandIDs.previousTab, {
    label: t.__('Previous Terminal Tab'),
    isEnabled: hasPanel,
    execute: () => panels.current?.cycleTab(-1)
  });
  commands.addCommand(CommandIDs.renameTab, {
    label: t.__('Rename Terminal Tab…'),
    isEnabled: hasTab,
    execute: args => renameTab(panels, target(), args.label)
  });
}

async function shutdownTab(
  panels: PanelManager,
  tab: TerminalTab | null
): Promise<void> {
  const panel = tab ? panelOf(panels, tab) : null;
  if (!panel || !tab) {
    return;
  }
  const t = trans();
  const result = await showDialog({
    title: t.__('Shut down terminal?'),
    body: t.__(
      'Terminate session %1 (“%2”) and every process in it?',
      tab.sessionId,
      tab.title.label
    ),
    buttons: [
      Dialog.cancelButton({ label: t.__('Cancel') }),
      Dialog.warnButton({ label: t.__('Shut Down') })
    ]
  });
  if (result.button.accept) {
    await panel.shutdownTab(tab);
  }
}

async function renameTab(
  panels: PanelManager,
  tab: TerminalTab | null,
  given: unknown
): Promise<void> {
  const panel = tab ? panelOf(panels, tab) : null;
  if (!panel || !tab) {
    return;
  }
  let label = typeof given === 'string' ? given : null;
  if (label === null) {
    const t = trans();
    const result = await InputDialog.getText({
      title: t.__('Rename Tab'),
      text: tab.title.label,
      okLabel: t.__('Rename'),
      cancelLabel: t.__('Cancel')
    });
    label = result.button.accept ? result.value : null;
  }
  if (label !== null) {
    panel.renameTab(label, tab);
  }
}
