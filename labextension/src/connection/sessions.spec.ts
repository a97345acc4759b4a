/** The session record hands output to every tab of a session and says whether one is in sight. */
import { describe, expect, it } from 'vitest';

import { Recorder } from '../fakes.testutil';
import { SessionRecord } from './sessions';

describe('SessionRecord.deliver', () => {
  it('tells every tab whether some tab of the session is in sight', () => {
    const record = new SessionRecord('1');
    const hidden = new Recorder();
    hidden.isVisible = false;
    const shown = new Recorder();
    record.listeners.add(hidden);
    record.listeners.add(shown);
    record.deliver(new Uint8Array([65]), false, () => undefined);
    expect(hidden.pending.map(c => c.seen)).toEqual([true]);
    shown.isVisible = false;
    record.deliver(new Uint8Array([66]), false, () => undefined);
    expect(hidden.pending.map(c => c.seen)).toEqual([true, false]);
    expect(shown.pending.map(c => c.seen)).toEqual([true, false]);
  });
});
