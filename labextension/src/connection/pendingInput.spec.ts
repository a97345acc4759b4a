/**
 * Keys typed while a session is detached: what is kept (keys, up to the
 * cap), what never is (focus and mouse reports), how the connection sends
 * them after the re-attach (confirmed, before later keys) and that a new
 * shell under the name never gets them, with the notice its tabs show.
 */
import { beforeEach, describe, expect, it } from 'vitest';

import {
  attachOnV2,
  FakeSocket,
  FakeTimers,
  lastSocket,
  Recorder,
  fakeMultiplexer
} from '../fakes.testutil';
import { SessionMultiplexer } from './multiplexer';
import { attachNotices } from '../terminal/notices';
import {
  isTerminalReport,
  PENDING_INPUT_MAX,
  PendingInput
} from './pendingInput';
import { IAttachInfo } from '../tokens';

describe('PendingInput', () => {
  it('never keeps focus or mouse reports, only keys', () => {
    const reports = [
      '\x1b[I',
      '\x1b[O',
      '\x1b[M !!',
      '\x1b[<0;12;5M',
      '\x1b[<0;12;5m',
      '\x1b[32;12;5M'
    ];
    expect(reports.filter(isTerminalReport)).toEqual(reports);
    const keys = ['ls\r', '\x1b[A', '\x1b[1;5C', '\x1bOP', '\x03', 'I', '\x1b'];
    expect(keys.filter(isTerminalReport)).toEqual([]);
    const q = new PendingInput();
    [...reports, ...keys].forEach(d => q.push(d));
    expect(q.take()).toBe(keys.join(''));
    expect(q.takeDiscarded()).toEqual([]);
  });

  it('keeps at most its cap and counts what it refused, once', () => {
    const q = new PendingInput(10);
    q.push('12345678');
    q.push('abc'); // would pass the cap: refused whole
    q.push('90');
    expect(q.length).toBe(10);
    q.push('x');
    expect(q.take()).toBe('1234567890');
    expect(q.empty).toBe(true);
    expect(q.takeDiscarded()).toEqual([{ chars: 4, reason: 'limit' }]);
    expect(q.takeDiscarded()).toEqual([]);
  });

  it('has a stated cap of a few KiB', () => {
    expect(PENDING_INPUT_MAX).toBe(4096);
  });
});

let timers: FakeTimers;

function connect(): SessionMultiplexer {
  timers = new FakeTimers();
  return fakeMultiplexer(timers);
}

/** Let promise callbacks run (a confirmed send continues after its pong). */
function settle(): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, 0));
}

/** A tab that records what its attaches told it. */
class InfoTab extends Recorder {
  infos: IAttachInfo[] = [];
  onAttached(info: IAttachInfo): void {
    super.onAttached(info);
    this.infos.push(info);
  }
}

/** An attached tab on v2 whose socket then dropped; `typed` was typed while down. */
function typedWhileDown(typed: string[]): {
  c: SessionMultiplexer;
  tab: InfoTab;
  send: (data: string) => void;
} {
  const c = connect();
  const tab = new InfoTab();
  tab.autoComplete = true;
  const ch = attachOnV2(c, tab);
  lastSocket().frame(3, 0, 'prompt$ ');
  lastSocket().drop(1006);
  typed.forEach(d => ch.send(d));
  c.reconnect();
  lastSocket().openV2();
  return { c, tab, send: d => ch.send(d) };
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('keys typed while disconnected', () => {
  it('are sent after the re-attach to the same shell, confirmed, before keys typed later', async () => {
    const { send } = typedWhileDown(['echo ', '\x1b[I', 'hi\r']);
    expect(lastSocket().ofType('terminal.input')).toEqual([]);
    lastSocket().attached({ channel: 4, offset: 8 });
    const [input] = lastSocket().ofType('terminal.input');
    expect(input).toMatchObject({ sessionId: '1', data: 'echo hi\r' });
    expect(input.id).toBeTypeOf('number');
    expect(lastSocket().sent.at(-1)).toMatchObject({ type: 'ping' });
    send('later');
    expect(lastSocket().ofType('terminal.input')).toHaveLength(1);
    lastSocket().answer('ping', { type: 'pong' });
    await settle();
    const inputs = lastSocket().ofType('terminal.input');
    expect(inputs.map(m => m.data)).toEqual(['echo hi\r', 'later']);
  });

  it('are re-sent after a pause when the server refuses them for now (input-overflow)', async () => {
    typedWhileDown(['make\r']);
    lastSocket().attached({ channel: 4, offset: 8 });
    const first = lastSocket().ofType('terminal.input')[0];
    lastSocket().receive({
      type: 'error',
      code: 'input-overflow',
      message: 'input queue full',
      sessionId: '1',
      request: 'terminal.input',
      id: first.id
    });
    lastSocket().answer('ping', { type: 'pong' });
    await settle();
    expect(timers.runAll(10_000)).toContain(20);
    await settle();
    const inputs = lastSocket().ofType('terminal.input');
    expect(inputs.map(m => m.data)).toEqual(['make\r', 'make\r']);
  });

  it('never reach a new shell under the name: dropped, and the tab says so', async () => {
    const { tab, send } = typedWhileDown(['rm -rf build\r']);
    lastSocket().attached({
      channel: 4,
      incarnation: 'inc-B',
      truncated: true
    });
    await settle();
    expect(lastSocket().ofType('terminal.input')).toEqual([]);
    const info = tab.infos.at(-1)!;
    expect(info).toMatchObject({
      newShell: true,
      discardedInput: [{ chars: 13, reason: 'new-shell' }]
    });
    expect(attachNotices(info)).toContain(
      '13 characters typed while disconnected were not sent: the session is now another shell'
    );
    send('ls\r'); // typed after the notice: the new shell gets it
    expect(lastSocket().ofType('terminal.input')).toEqual([
      { type: 'terminal.input', sessionId: '1', data: 'ls\r' }
    ]);
  });

  it('past the cap are not sent, and the tab says how many', () => {
    const { tab } = typedWhileDown(['a'.repeat(PENDING_INPUT_MAX), 'b\r']);
    lastSocket().attached({ channel: 4, offset: 8 });
    const [input] = lastSocket().ofType('terminal.input');
    expect(input.data).toBe('a'.repeat(PENDING_INPUT_MAX));
    expect(tab.infos.at(-1)?.discardedInput).toEqual([
      { chars: 2, reason: 'limit' }
    ]);
  });

  it('are not sent twice when the socket drops before the server confirmed them', async () => {
    const { tab } = typedWhileDown(['once\r']);
    lastSocket().attached({ channel: 4, offset: 8 });
    expect(lastSocket().ofType('terminal.input')).toHaveLength(1);
    lastSocket().drop(1006);
    await settle();
    timers.runAll(10_000);
    await settle();
    lastSocket().openV2();
    lastSocket().attached({ channel: 5, offset: 8 });
    await settle();
    expect(lastSocket().ofType('terminal.input')).toEqual([]);
    expect(tab.infos.at(-1)?.discardedInput).toEqual([
      { chars: 5, reason: 'unconfirmed' }
    ]);
  });
});
