/** Requests matched by id, each with a deadline, without sockets. */
import { describe, expect, it } from 'vitest';

import { FakeTimers } from '../fakes.testutil';
import { RequestTable } from './requests';

describe('RequestTable', () => {
  it('rejects with code timeout after its deadline and forgets the request', async () => {
    const timers = new FakeTimers();
    const table = new RequestTable(timers, 2500);
    const answer = new Promise((resolve, reject) =>
      table.add('Listing terminals', { resolve, reject })
    );
    expect(timers.runAll()).toEqual([2500]);
    await expect(answer).rejects.toMatchObject({
      code: 'timeout',
      message: 'Listing terminals: no answer from the server in 2.5 s'
    });
    expect(table.size).toBe(0);
  });

  it('settles by id once, clears the deadline, and ignores unknown ids', async () => {
    const timers = new FakeTimers();
    const table = new RequestTable(timers);
    let id = 0;
    const answer = new Promise((resolve, reject) => {
      id = table.add('Ping', { resolve, reject });
    });
    expect(table.settle('x', { type: 'pong' })).toBe(false);
    expect(table.settle(id, { type: 'pong' })).toBe(true);
    expect(table.settle(id, { type: 'pong' })).toBe(false);
    await expect(answer).resolves.toEqual({ type: 'pong' });
    expect(timers.queue).toHaveLength(0);
  });

  it('keeps queued (unsent) requests when the socket closes; fails the sent ones', async () => {
    const timers = new FakeTimers();
    const table = new RequestTable(timers);
    const outcomes: string[] = [];
    const sent = table.add('a', {
      resolve: () => outcomes.push('a ok'),
      reject: () => outcomes.push('a lost')
    });
    const queued = table.add('b', {
      resolve: () => outcomes.push('b ok'),
      reject: () => outcomes.push('b lost')
    });
    table.enqueue(queued, 'frame-b');
    table.failSent(new Error('closed'));
    expect(outcomes).toEqual(['a lost']);
    expect(table.takeQueued()).toEqual(['frame-b']);
    expect(sent).not.toBe(queued);
  });
});
