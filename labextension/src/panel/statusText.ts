/** Words of the connection indicator: its label and its tooltip (translated). */
import { trans } from '../i18n';
import { ConnectionStatus, IProtocolInfo } from '../tokens';

/** The indicator's label for `status`. */
export function statusText(status: ConnectionStatus): string {
  const t = trans();
  switch (status) {
    case 'connecting':
      return t.__('Connecting…');
    case 'connected':
      return t.__('Connected');
    case 'reconnecting':
      return t.__('Reconnecting…');
    case 'closed':
      return t.__('Disconnected — click to reconnect');
  }
}

/** The connection indicator's tooltip: which protocol the socket speaks. */
export function protocolText(info: IProtocolInfo | null): string {
  const t = trans();
  if (info === null) {
    return t.__('not connected yet');
  }
  if (info.version === 1) {
    return t.__(
      'protocol v1 (no v2 negotiated — a proxy may strip Sec-WebSocket-Protocol)'
    );
  }
  const server = [info.server, info.serverVersion].filter(Boolean).join(' ');
  const text =
    server === '' ? t.__('protocol v2') : t.__('protocol v2 — %1', server);
  return info.negotiated === false
    ? t.__(
        '%1 (learnt from its hello: a proxy dropped the Sec-WebSocket-Protocol answer)',
        text
      )
    : text;
}
