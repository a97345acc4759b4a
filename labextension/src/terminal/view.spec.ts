/**
 * A read-only (view) subscription through the connection, protocol v2 with a
 * fake socket: the attach asks for view mode, the view never sends input or
 * sizes, the PTY's size from the attach answer and from `session.resized`
 * reaches the tabs, and the hello's access and viewers are reported.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import {
  attachOnV2,
  FakeSocket,
  lastSocket,
  Recorder,
  fakeMultiplexer
} from '../fakes.testutil';
import { attachRequest } from '../connection/attach';
import { SessionMultiplexer } from '../connection/multiplexer';
import { validateClientMessage } from '../protocol/schema';
import { SessionRecord } from '../connection/sessions';

function connect(): SessionMultiplexer {
  return fakeMultiplexer();
}

/** The PTY's size in every attach answer. */
const SIZE = { rows: 30, cols: 100 };

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('attach modes', () => {
  it('asks for view mode only for a view record, and the request is valid', () => {
    const record = new SessionRecord('1');
    expect(attachRequest(record, 2).mode).toBeUndefined();
    record.mode = 'view';
    const msg = attachRequest(record, 2);
    expect(msg.mode).toBe('view');
    expect(validateClientMessage({ ...msg, id: 1 })).toMatchObject({
      mode: 'view'
    });
    expect(attachRequest(record, 1).mode).toBe('view');
  });

  it('a view sends no input and no size, before or after the attach', () => {
    const c = connect();
    const tab = new Recorder();
    const channel = c.attach('1', tab, null, 'view');
    channel.send('typed early');
    channel.resize(10, 20);
    lastSocket().openV2();
    expect(lastSocket().ofType('session.attach')[0].mode).toBe('view');
    lastSocket().attached(SIZE);
    channel.send('rm -rf\r');
    channel.resize(11, 21);
    expect(lastSocket().ofType('terminal.input')).toEqual([]);
    expect(lastSocket().ofType('terminal.resize')).toEqual([]);
  });

  it('a write tab still sends its input and size', () => {
    const c = connect();
    const channel = c.attach('1', new Recorder());
    lastSocket().openV2();
    expect(lastSocket().ofType('session.attach')[0].mode).toBeUndefined();
    lastSocket().attached(SIZE);
    channel.send('ls\r');
    channel.resize(10, 20);
    expect(lastSocket().ofType('terminal.input')).toHaveLength(1);
    expect(lastSocket().ofType('terminal.resize')).toHaveLength(1);
  });

  it("tells the tabs the PTY's size: on attach, on session.resized, and to a tab joining later", () => {
    const c = connect();
    const tab = new Recorder();
    attachOnV2(c, tab, { mode: 'view', answer: SIZE });
    expect(tab.attachedSize).toBe('30x100');
    lastSocket().receive({
      type: 'session.resized',
      sessionId: '1',
      rows: 40,
      cols: 120
    });
    lastSocket().receive({
      type: 'session.resized',
      sessionId: 'other',
      rows: 1,
      cols: 1
    });
    expect(tab.log).toContain('resized:40x120');
    expect(tab.log).not.toContain('resized:1x1');
    const second = new Recorder();
    c.attach('1', second, null, 'view');
    // Drawn by a replay of its own (a rejoin), whose answer tells it the size.
    const rejoin = lastSocket().ofType('session.attach')[1];
    expect(rejoin.since).toBeUndefined();
    lastSocket().attached({ channel: 4, rows: 40, cols: 120 });
    expect(second.attachedSize).toBe('40x120');
  });

  it("reports the hello's access and whether viewers are allowed", () => {
    const c = connect();
    c.attach('1', new Recorder());
    FakeSocket.serverProtocol = 'termmux.v2';
    lastSocket().open();
    lastSocket().receive({
      type: 'hello',
      protocol: 2,
      server: 'jupyter-termmux',
      version: '0.3.0',
      limits: {},
      access: ['read'],
      viewers: true
    });
    expect(c.protocol).toMatchObject({ access: ['read'], viewers: true });
  });

  it('a view tab joining a session its page writes sends neither keys nor sizes', () => {
    const c = connect();
    const writerTab = attachOnV2(c, new Recorder(), { answer: SIZE });
    const viewTab = c.attach('1', new Recorder(), null, 'view');
    lastSocket().attached({ ...SIZE, channel: 4 });
    viewTab.send('x');
    viewTab.resize(5, 6);
    expect(lastSocket().ofType('terminal.input')).toEqual([]);
    expect(lastSocket().ofType('terminal.resize')).toEqual([]);
    writerTab.send('y');
    expect(lastSocket().ofType('terminal.input')).toHaveLength(1);
  });
});
