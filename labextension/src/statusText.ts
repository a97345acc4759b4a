/** Words of the connection indicator: its label and its tooltip. */
import { ConnectionStatus, IProtocolInfo } from './tokens';

export const STATUS_TEXT: { [key in ConnectionStatus]: string } = {
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  closed: 'Disconnected — click to reconnect'
};

/** The connection indicator's tooltip: which protocol the socket speaks. */
export function protocolText(info: IProtocolInfo | null): string {
  if (info === null) {
    return 'not connected yet';
  }
  if (info.version === 1) {
    return 'protocol v1 (no v2 negotiated — a proxy may strip Sec-WebSocket-Protocol)';
  }
  const server = [info.server, info.serverVersion].filter(Boolean).join(' ');
  const text = server === '' ? 'protocol v2' : `protocol v2 — ${server}`;
  return info.negotiated === false
    ? `${text} (learnt from its hello: a proxy dropped the Sec-WebSocket-Protocol answer)`
    : text;
}
