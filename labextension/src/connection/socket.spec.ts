/** The reconnecting socket on its own: the subprotocol offer and its fallback. */
import { beforeEach, describe, expect, it } from 'vitest';

import { FakeSocket, FakeTimers, lastSocket } from '../fakes.testutil';
import { ReconnectingSocket } from './socket';

function socket(): {
  s: ReconnectingSocket;
  opened: string[];
  timers: FakeTimers;
} {
  const opened: string[] = [];
  const timers = new FakeTimers();
  const s = new ReconnectingSocket({
    url: 'ws://host/api/termmux/socket',
    WebSocket: FakeSocket,
    protocols: ['termmux.v2'],
    timers,
    random: () => 0,
    handler: {
      onOpen: protocol => opened.push(protocol),
      onMessage: () => undefined,
      onClose: () => undefined
    }
  });
  return { s, opened, timers };
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('ReconnectingSocket', () => {
  it('offers the subprotocol and reads binary frames as ArrayBuffers', () => {
    const { s } = socket();
    s.ensureOpen();
    expect(lastSocket().protocols).toEqual(['termmux.v2']);
    expect(lastSocket().binaryType).toBe('arraybuffer');
  });

  it('retries at once offering nothing when a handshake with the offer fails', () => {
    const { s, opened } = socket();
    s.ensureOpen();
    lastSocket().drop(1006); // e.g. a proxy dropped the Sec-WebSocket-Protocol answer
    expect(FakeSocket.all).toHaveLength(2);
    expect(lastSocket().protocols).toEqual([]);
    lastSocket().open();
    expect(opened).toEqual(['']);
  });

  it('offers the subprotocol again on the next reconnect', () => {
    const { s, timers } = socket();
    s.ensureOpen();
    lastSocket().drop(1006);
    lastSocket().open();
    s.markReady();
    lastSocket().drop(1006); // an established socket drops: normal backoff
    expect(FakeSocket.all).toHaveLength(2);
    timers.runAll();
    expect(lastSocket().protocols).toEqual(['termmux.v2']);
  });

  it('says connected only once the owner finished its handshake', () => {
    const { s } = socket();
    s.ensureOpen();
    lastSocket().open();
    expect(s.status).toBe('connecting');
    s.markReady();
    expect(s.status).toBe('connected');
  });
});
