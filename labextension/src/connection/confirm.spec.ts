/**
 * Confirmed input (pastes) through the real multiplexer with a fake socket:
 * a pong without a refusal confirms, input-overflow asks for a retry.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import {
  FakeSocket,
  FakeTimers,
  lastSocket,
  Recorder
} from '../fakes.testutil';
import { SessionMultiplexer } from './multiplexer';

function connected(): SessionMultiplexer {
  const c = new SessionMultiplexer({
    url: 'ws://host/api/termmux/socket',
    WebSocket: FakeSocket,
    timers: new FakeTimers(),
    random: () => 0.5
  });
  c.attach('1', new Recorder());
  lastSocket().open();
  lastSocket().answer('session.attach', {
    type: 'session.attached',
    sessionId: '1'
  });
  return c;
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('confirmed input', () => {
  it('is taken when the pong comes without a refusal', async () => {
    const c = connected();
    const taken = c.sendInputChecked('1', 'chunk');
    const input = lastSocket().ofType('terminal.input').pop()!;
    expect(input).toMatchObject({ sessionId: '1', data: 'chunk' });
    expect(typeof input.id).toBe('number');
    lastSocket().answer('ping', { type: 'pong' });
    expect(await taken).toBe(true);
  });

  it('is refused for now on input-overflow (retry later)', async () => {
    const c = connected();
    const taken = c.sendInputChecked('1', 'chunk');
    const input = lastSocket().ofType('terminal.input').pop()!;
    lastSocket().receive({
      type: 'error',
      code: 'input-overflow',
      message: 'full',
      sessionId: '1',
      request: 'terminal.input',
      id: input.id
    });
    lastSocket().answer('ping', { type: 'pong' });
    expect(await taken).toBe(false);
  });

  it('throws on other refusals and waits while disconnected', async () => {
    const c = connected();
    const taken = c.sendInputChecked('1', 'x');
    const input = lastSocket().ofType('terminal.input').pop()!;
    lastSocket().receive({
      type: 'error',
      code: 'invalid-field',
      message: 'data',
      id: input.id
    });
    lastSocket().answer('ping', { type: 'pong' });
    await expect(taken).rejects.toMatchObject({ code: 'invalid-field' });
    lastSocket().drop();
    expect(await c.sendInputChecked('1', 'y')).toBe(false);
  });
});
