/**
 * Sharing a terminal from the panel: "Copy Read-Only Link" (a JupyterLab URL
 * that opens the session in view mode, routed by JupyterLab's router),
 * "Download Recording" (the session's asciicast v2 file) and the route that
 * opens a read-only link.
 */
import { IRouter, JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, Notification } from '@jupyterlab/apputils';
import { PageConfig, URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { ICommandContext } from './commands';
import { trans } from '../i18n';
import { PanelManager } from '../panel/panels';
import {
  castFileName,
  castPath,
  viewedSession,
  viewLink,
  VIEW_ROUTE,
  withoutView
} from '../terminal/sharing';
import { ITermMuxConnection } from '../tokens';

export namespace SharingIDs {
  export const copyViewLink = 'termmux:copy-view-link';
  export const downloadRecording = 'termmux:download-recording';
  /** Run by the router for `lab?termmux-view=NAME`. */
  export const openView = 'termmux:open-view';
}

/** Register the sharing commands and the read-only link's route. */
export function addSharingCommands(
  ctx: ICommandContext,
  connection: ITermMuxConnection,
  router: IRouter | null
): void {
  addCopyViewLink(ctx, connection);
  const { commands } = ctx.app;
  const targetTab = ctx.target;
  const t = trans();
  commands.addCommand(SharingIDs.downloadRecording, {
    label: t.__('Download Recording'),
    caption: t.__(
      'Save the session’s history as an asciicast v2 file (NAME.cast)'
    ),
    isEnabled: () => targetTab() !== null,
    execute: async () => {
      const tab = targetTab();
      if (tab !== null) {
        await downloadRecording(tab.sessionId).catch(e => {
          console.error('termmux:', e);
          Notification.error(
            t.__(
              'Cannot download the recording of %1: %2',
              tab.sessionId,
              (e as Error).message
            )
          );
        });
      }
    }
  });
  addViewRoute(ctx.app, ctx.panels, router);
}

/** "Copy Read-Only Link": says so instead when the server lets nobody watch. */
function addCopyViewLink(
  ctx: ICommandContext,
  connection: ITermMuxConnection
): void {
  const targetTab = ctx.target;
  const t = trans();
  // Only a v2 hello says whether viewers are allowed; without one they are not.
  const viewersAllowed = (): boolean => connection.protocol?.viewers === true;
  ctx.app.commands.addCommand(SharingIDs.copyViewLink, {
    label: () =>
      viewersAllowed()
        ? t.__('Copy Read-Only Link')
        : t.__('Copy Read-Only Link (Disabled on This Server)'),
    caption: () =>
      viewersAllowed()
        ? t.__(
            'Copy a link that shows this terminal to others, who can watch but not type'
          )
        : t.__('Read-only links are disabled on this server'),
    isEnabled: () => targetTab() !== null,
    execute: () => {
      const tab = targetTab();
      if (tab === null) {
        return;
      }
      if (!viewersAllowed()) {
        Notification.warning(
          t.__(
            'Read-only links are disabled: this server does not let others watch terminals (TermMuxApp.allow_viewers is off).'
          ),
          { autoClose: 8000 }
        );
        return;
      }
      const link = viewLink(PageConfig.getBaseUrl(), tab.sessionId);
      Clipboard.copyToSystem(link);
      tab.node.dataset.viewLink = link;
      Notification.success(t.__('Read-only link copied: %1', link), {
        autoClose: 5000
      });
    }
  });
}

/** The command that opens a read-only link (`lab?termmux-view=NAME`), and its route. */
function addViewRoute(
  app: JupyterFrontEnd,
  panels: PanelManager,
  router: IRouter | null
): void {
  const { commands } = app;
  commands.addCommand(SharingIDs.openView, {
    label: trans().__('Open Terminal Read-Only'),
    execute: async args => {
      const search =
        typeof args.search === 'string' ? args.search : location.search;
      const sessionId = viewedSession(search);
      if (sessionId === null) {
        return;
      }
      // A reload of the page should not open the view again.
      const url = new URL(location.href);
      url.search = withoutView(url.search);
      history.replaceState(history.state, '', url.toString());
      await app.restored;
      const panel = panels.current ?? panels.create();
      app.shell.activateById(panel.id);
      const tab = panel.openView(sessionId);
      // Refused (no read permission, viewers off) or unknown: the tab closes, so say why.
      tab.gone.connect((_, reason) =>
        Notification.error(
          trans().__('Cannot watch terminal %1: %2', sessionId, reason)
        )
      );
    }
  });
  router?.register({ command: SharingIDs.openView, pattern: VIEW_ROUTE });
}

/** Fetch the session's cast (auth, XSRF and base URL from the server settings) and save it. */
async function downloadRecording(sessionId: string): Promise<void> {
  const settings = ServerConnection.makeSettings();
  const url = URLExt.join(settings.baseUrl, castPath(sessionId));
  const response = await ServerConnection.makeRequest(url, {}, settings);
  if (!response.ok) {
    throw await ServerConnection.ResponseError.create(response);
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = href;
  a.download = castFileName(sessionId);
  document.body.appendChild(a);
  a.click();
  a.remove();
  // Revoke after the click has handed the URL to the download.
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}
