/**
 * A session shown in a second tab (another panel, or a split). On protocol
 * v2 the newcomer is drawn by a replay of its own (an attach without
 * `since`); on v1, whose server replays once per socket, from the copy of
 * what the first tab was given. Either way the first tab keeps its screen
 * and both stay live. The tabs here are real xterm.js terminals (on v1
 * behind the tabs' own writer, which resets at a replay), so the tests read
 * their screens.
 */
import { Terminal } from '@xterm/xterm';
import { beforeEach, describe, expect, it } from 'vitest';

import { FrameType } from '../protocol/binary';
import {
  attachOnV2,
  FakeSocket,
  fakeMultiplexer,
  lastSocket,
  Recorder
} from '../fakes.testutil';
import { SessionMultiplexer } from './multiplexer';
import { guardReplies } from '../terminal/replies';
import { TerminalWriter } from '../terminal/writer';
import { V1_TRANSCRIPT_CHARS } from './transcript';
import { IAttachedMessage } from '../protocol/protocol';
import { validateClientMessage } from '../protocol/schema';
import { IAttachInfo, IOutputChunk, ISessionListener } from '../tokens';

/** A tab with a real (unopened) xterm.js terminal: what it shows is in its buffer. */
class ScreenTab implements ISessionListener {
  readonly term = new Terminal({ cols: 40, rows: 10, allowProposedApi: true });
  isVisible = true;
  attached: IAttachInfo[] = [];
  resets = 0;

  onOutput(chunk: IOutputChunk): void {
    this.term.write(chunk.data, chunk.done);
  }
  onReset(preamble: string): void {
    this.resets++;
    this.term.reset();
    this.term.write(preamble);
  }
  onAttached(info: IAttachInfo): void {
    this.attached.push(info);
  }
  onExited(): void {
    return;
  }
  onDetached(): void {
    return;
  }

  /** The screen's text, once xterm.js parsed everything written so far. */
  async screen(): Promise<string> {
    await new Promise<void>(resolve => this.term.write('', resolve));
    const buffer = this.term.buffer.active;
    const lines: string[] = [];
    for (let i = 0; i < buffer.length; i++) {
      lines.push(buffer.getLine(i)?.translateToString(true) ?? '');
    }
    return lines.join('\n').trimEnd();
  }
}

function connect(): SessionMultiplexer {
  return fakeMultiplexer();
}

/** The answer to an attach on `channel`, the stream starting at `offset`. */
function answerOn(channel: number, offset: number): Partial<IAttachedMessage> {
  return { channel, offset, resume: `tok-${channel}`, rows: 10, cols: 40 };
}

/** The first tab, drawn and showing `text` (bytes 0..text.length on channel 3). */
async function firstTab(
  c: SessionMultiplexer,
  text: string
): Promise<ScreenTab> {
  const a = new ScreenTab();
  attachOnV2(c, a, {
    limits: { ackBytes: 1 },
    answer: answerOn(3, 0)
  });
  lastSocket().frame(3, 0, text);
  expect(await a.screen()).toContain(text.split('\r\n')[0]);
  return a;
}

beforeEach(() => {
  FakeSocket.all = [];
  FakeSocket.serverProtocol = '';
});

describe('a second tab on a session this page shows', () => {
  it('shows the screen at once (its own replay), the first keeps its own, and both stay live', async () => {
    const c = connect();
    const early = 'early line one\r\nearly line two\r\n';
    const a = await firstTab(c, early);
    const b = new ScreenTab();
    c.attach('1', b);
    const attaches = lastSocket().ofType('session.attach');
    expect(attaches).toHaveLength(2);
    const rejoin = attaches[1];
    expect(rejoin.since).toBeUndefined();
    expect(rejoin.resume).toBeUndefined();
    expect(() => validateClientMessage(rejoin, 2)).not.toThrow();
    // Output still reaching the old channel before the answer is the first tab's only.
    const n = early.length;
    lastSocket().frame(3, n, 'between\r\n');
    const shown = n + 'between\r\n'.length;
    lastSocket().attached(answerOn(4, 0));
    // The replay of everything, then live output for both.
    lastSocket().frame(4, 0, early + 'between\r\n', FrameType.Replay);
    lastSocket().frame(4, shown, 'live for both\r\n');
    lastSocket().frame(3, shown, 'stale channel\r\n'); // released: ignored
    const first = await a.screen();
    const second = await b.screen();
    expect(second).toContain('early line one\nearly line two\nbetween');
    expect(second).toContain('live for both');
    expect(first.match(/early line one/g)).toHaveLength(1);
    expect(first.match(/between/g)).toHaveLength(1);
    expect(first).toContain('live for both');
    expect(first).not.toContain('stale');
    expect(second).not.toContain('stale');
    // Only the newcomer was reset and told; the first tab kept its screen.
    expect([a.resets, b.resets]).toEqual([1, 1]);
    expect(a.attached).toHaveLength(1);
    expect(b.attached).toEqual([
      { newShell: false, lostBytes: 0, rows: 10, cols: 40 }
    ]);
    // Every byte of the new channel acknowledged once both tabs parsed it.
    const acked = lastSocket()
      .ofType('ack')
      .filter(m => m.channel === 4)
      .reduce((sum, m) => sum + (m.bytes as number), 0);
    expect(acked).toBe(shown + 'live for both\r\n'.length);
  });

  it('splits a frame that straddles what the first tab shows', async () => {
    const c = connect();
    const a = await firstTab(c, 'abc');
    const b = new ScreenTab();
    c.attach('1', b);
    lastSocket().attached(answerOn(4, 0));
    lastSocket().frame(4, 0, 'abcdef', FrameType.Replay);
    expect(await a.screen()).toBe('abcdef');
    expect(await b.screen()).toBe('abcdef');
  });

  it('a tab joining while the socket is down is drawn after the others resume', async () => {
    const c = connect();
    const a = await firstTab(c, 'before the drop\r\n');
    lastSocket().drop(1006);
    const b = new ScreenTab();
    c.attach('1', b);
    c.reconnect();
    lastSocket().openV2({ ackBytes: 1 });
    const resume = lastSocket().ofType('session.attach')[0];
    expect(resume).toMatchObject({ since: 17, resume: 'tok-3' });
    lastSocket().attached(answerOn(5, 17));
    lastSocket().frame(5, 17, 'after\r\n');
    const rejoin = lastSocket().ofType('session.attach')[1];
    expect(rejoin.since).toBeUndefined();
    lastSocket().attached(answerOn(6, 0));
    lastSocket().frame(6, 0, 'before the drop\r\nafter\r\n', FrameType.Replay);
    expect(await b.screen()).toBe('before the drop\nafter');
    expect(await a.screen()).toBe('before the drop\nafter');
  });

  it('a tab leaving before its replay came leaves the first one untouched', async () => {
    const c = connect();
    const a = await firstTab(c, 'kept\r\n');
    const b = c.attach('1', new ScreenTab());
    b.dispose();
    expect(lastSocket().ofType('session.detach')).toHaveLength(0);
    lastSocket().attached(answerOn(4, 0));
    lastSocket().frame(4, 0, 'kept\r\n', FrameType.Replay);
    lastSocket().frame(4, 6, 'more\r\n');
    expect(await a.screen()).toBe('kept\nmore');
    expect(a.resets).toBe(1);
  });

  it('when history no longer reaches back to the first tab, both redraw and say what was lost', async () => {
    const c = connect();
    const a = await firstTab(c, 'old\r\n');
    const b = new ScreenTab();
    c.attach('1', b);
    lastSocket().attached(answerOn(4, 50));
    lastSocket().frame(4, 50, 'newer', FrameType.Replay);
    expect(await a.screen()).toBe('newer');
    expect(await b.screen()).toBe('newer');
    expect(a.attached.at(-1)).toMatchObject({ lostBytes: 45 });
  });
});

/**
 * A v1 tab: its output goes through the tabs' writer (a replay's first chunk
 * resets it), with the tabs' guard on terminal queries; what xterm.js would
 * type into the program is in `answers`.
 */
class V1ScreenTab extends ScreenTab {
  readonly writer = new TerminalWriter(this.term);
  readonly answers: string[] = [];

  constructor() {
    super();
    guardReplies(this.term.parser, () => this.writer.suppressReplies);
    this.term.onData(data => this.answers.push(data));
  }

  onOutput(chunk: IOutputChunk): void {
    this.writer.write(chunk);
  }
  onReset(preamble: string): void {
    this.resets++;
    this.writer.reset(preamble);
  }
  onAttached(info: IAttachInfo): void {
    super.onAttached(info);
    this.writer.attached();
  }
}

/** v1 output of session 1, as the server sends it. */
function v1Output(data: string, replay = false): void {
  lastSocket().receive({
    type: 'terminal.output',
    sessionId: '1',
    data,
    ...(replay ? { replay: true } : {})
  });
}

/** Answer the last v1 `session.attach` (no channel, no offsets). */
function answerV1Attach(): void {
  lastSocket().answer('session.attach', {
    type: 'session.attached',
    sessionId: '1',
    rows: 10,
    cols: 40
  });
}

describe('a second tab on a session this page shows, on protocol v1', () => {
  it('shows the screen at once, in the modes the program is in, the first keeps its own, and both stay live', async () => {
    const c = connect();
    const a = new V1ScreenTab();
    c.attach('1', a);
    lastSocket().open();
    answerV1Attach();
    // The server's replay (its modes preamble first: the alternate screen), then live output.
    v1Output('\x1b[?1049h', true);
    v1Output('early line one\r\nearly line two\r\n', true);
    v1Output('live before\r\n');
    expect(await a.screen()).toBe(
      'early line one\nearly line two\nlive before'
    );

    const b = new V1ScreenTab();
    c.attach('1', b);
    // No second attach: a v1 server would answer it without a replay.
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
    const shown = 'early line one\nearly line two\nlive before';
    expect(await b.screen()).toBe(shown);
    expect(b.term.buffer.active.type).toBe('alternate');
    expect(b.attached).toEqual([
      { newShell: false, lostBytes: 0, rows: 10, cols: 40 }
    ]);

    v1Output('live for both\r\n');
    expect(await a.screen()).toBe(`${shown}\nlive for both`);
    expect(await b.screen()).toBe(`${shown}\nlive for both`);
    expect(a.term.buffer.active.type).toBe('alternate');
    expect(a.attached).toHaveLength(1);
  });

  it('a joining tab answers none of the queries in the output it is drawn from', async () => {
    const c = connect();
    const a = new V1ScreenTab();
    c.attach('1', a);
    lastSocket().open();
    answerV1Attach();
    v1Output('history\r\n', true);
    // Live output with queries a program sends (device attributes, cursor position, colour):
    // the first tab, live, answers them; the copy must not answer them again.
    v1Output('live\x1b[c\x1b[6n\x1b]11;?\x07\r\n');
    await a.screen();
    // Device attributes and the cursor (row 2, column 5); no OSC colours (no handler here).
    expect(a.answers).toEqual(['\x1b[?1;2c', '\x1b[2;5R']);
    const b = new V1ScreenTab();
    c.attach('1', b);
    expect(await b.screen()).toBe('history\nlive');
    expect(b.answers).toEqual([]);
    v1Output('\x1b[6n');
    await b.screen();
    expect(b.answers).toEqual(['\x1b[3;1R']); // live queries are answered as before
  });

  it('a session first shown on v2 and then reconnected on v1 draws a joining tab from v1 output', async () => {
    FakeSocket.serverProtocol = 'termmux.v2';
    const c = connect();
    const a = new V1ScreenTab();
    attachOnV2(c, a, { answer: answerOn(3, 0) });
    lastSocket().frame(3, 0, 'on v2\r\n');
    // A proxy that strips the subprotocol from now on: the page falls back to v1.
    FakeSocket.serverProtocol = '';
    lastSocket().drop(1006);
    c.reconnect();
    lastSocket().open();
    answerV1Attach();
    v1Output('replayed on v1\r\n', true);
    v1Output('live on v1\r\n');
    const b = new V1ScreenTab();
    c.attach('1', b);
    // Drawn from the copy at once: no v2-style rejoin, which a v1 server answers without a replay.
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
    expect(await b.screen()).toBe('replayed on v1\nlive on v1');
    expect(await a.screen()).toBe('replayed on v1\nlive on v1');
  });

  it('a tab joining while the attach is under way is drawn by its replay, once', async () => {
    const c = connect();
    const a = new V1ScreenTab();
    c.attach('1', a);
    lastSocket().open();
    const b = new V1ScreenTab();
    c.attach('1', b); // before the server answered
    answerV1Attach();
    v1Output('the replay\r\n', true);
    v1Output('live\r\n');
    expect(lastSocket().ofType('session.attach')).toHaveLength(1);
    expect(await a.screen()).toBe('the replay\nlive');
    expect(await b.screen()).toBe('the replay\nlive');
  });

  it('a third tab after a reconnect is drawn from the new replay, not the old screen', async () => {
    const c = connect();
    const a = new V1ScreenTab();
    c.attach('1', a);
    lastSocket().open();
    answerV1Attach();
    v1Output('before the drop\r\n', true);
    lastSocket().drop(1006);
    c.reconnect();
    lastSocket().open();
    answerV1Attach();
    v1Output('replayed again\r\n', true);
    v1Output('after\r\n');
    const b = new V1ScreenTab();
    c.attach('1', b);
    expect(await a.screen()).toBe('replayed again\nafter');
    expect(await b.screen()).toBe('replayed again\nafter');
  });

  it("past the copy's limit, every tab is drawn again from a new attach's replay", () => {
    const c = connect();
    const a = new Recorder();
    a.autoComplete = true;
    c.attach('1', a);
    lastSocket().open();
    answerV1Attach();
    v1Output('x'.repeat(V1_TRANSCRIPT_CHARS + 1));
    const b = new Recorder();
    c.attach('1', b);
    expect(lastSocket().ofType('session.detach')).toHaveLength(1);
    const attaches = lastSocket().ofType('session.attach');
    expect(attaches).toHaveLength(2);
    expect(attaches[1].replay).toBe(true);
    answerV1Attach();
    v1Output('history', true);
    expect(a.log.slice(-2)).toEqual(['attached', 'replay:history']);
    expect(b.log).toEqual(['attached', 'replay:history']);
  });
});
