/** The plugin that provides the page's single termmux connection. */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { SessionMultiplexer } from '../connection/multiplexer';
import { IWebSocketConstructor } from '../connection/socket';
import { ITermMuxConnection } from '../tokens';

/** `{wsUrl}api/termmux/socket`, token appended as JupyterLab's terminal service does. */
export function socketUrl(settings: ServerConnection.ISettings): string {
  let url = URLExt.join(settings.wsUrl, 'api', 'termmux', 'socket');
  const token = settings.token;
  if (settings.appendToken && token !== '') {
    url = url + `?token=${encodeURIComponent(token)}`;
  }
  return url;
}

export const connectionPlugin: JupyterFrontEndPlugin<ITermMuxConnection> = {
  id: 'jupyter-termmux:connection',
  description: 'The single multiplexed termmux WebSocket of the page.',
  autoStart: true,
  provides: ITermMuxConnection,
  activate: (app: JupyterFrontEnd): ITermMuxConnection => {
    const settings = app.serviceManager.serverSettings;
    const connection = new SessionMultiplexer({
      url: () => socketUrl(settings),
      // The browser WebSocket class JupyterLab itself uses (structurally wider).
      WebSocket: settings.WebSocket as unknown as IWebSocketConstructor
    });
    // Keep JupyterLab's Running panel in step with sessions made or ended here.
    connection.sessionsChanged.connect(() => {
      const terminals = app.serviceManager.terminals;
      if (terminals.isAvailable()) {
        void terminals.refreshRunning().catch(() => undefined);
      }
    });
    return connection;
  }
};
