/**
 * The v2 attach rules as pure functions of a session record: when an attach
 * resumes with `since`, and that it carries the record's own `resume` token
 * then and only then.
 */
import { describe, expect, it } from 'vitest';

import { applyAttached, attachRequest } from './attach';
import { attachNotices } from '../terminal/notices';
import { IAttachedMessage } from '../protocol/protocol';
import { validateClientMessage } from '../protocol/schema';
import { SessionRecord } from './sessions';

/** A v2 answer for `sessionId` carrying `resume`. */
function answer(
  sessionId: string,
  resume: string | undefined,
  offset = 100
): IAttachedMessage {
  const msg: IAttachedMessage = {
    type: 'session.attached',
    sessionId,
    channel: 1,
    incarnation: 'inc-A',
    offset,
    truncated: false
  };
  if (resume !== undefined) {
    msg.resume = resume;
  }
  return msg;
}

/** A record whose tabs show the output after an answer with `resume`. */
function shown(sessionId: string, resume: string | undefined): SessionRecord {
  const record = new SessionRecord(sessionId);
  applyAttached(record, answer(sessionId, resume), false);
  return record;
}

describe('attachRequest and the resume token', () => {
  it('sends the token of the last answer with since on the next attach', () => {
    const record = shown('1', 'tok-1');
    const msg = attachRequest(record, 2);
    expect(msg).toMatchObject({ since: 100, resume: 'tok-1' });
    expect(() => validateClientMessage(msg, 2)).not.toThrow();
  });

  it('sends the newest token: each answer replaces the one before', () => {
    const record = shown('1', 'tok-1');
    applyAttached(record, answer('1', 'tok-2', 150), true);
    expect(attachRequest(record, 2).resume).toBe('tok-2');
  });

  it('sends no token on a first attach', () => {
    const msg = attachRequest(new SessionRecord('1'), 2);
    expect(msg.since).toBeUndefined();
    expect(msg.resume).toBeUndefined();
  });

  it('sends no token without since (a reloaded page: resume point, no screen)', () => {
    const record = new SessionRecord('1');
    record.offset = 300;
    record.incarnation = 'inc-A';
    const msg = attachRequest(record, 2);
    expect(msg).toMatchObject({ incarnation: 'inc-A' });
    expect(msg.since).toBeUndefined();
    expect(msg.resume).toBeUndefined();
  });

  it('sends no token while the tabs hold no offset, even with a token stored', () => {
    const record = shown('1', 'tok-1');
    record.offset = null;
    expect(attachRequest(record, 2).resume).toBeUndefined();
  });

  it('sends nothing of v2 on v1', () => {
    const msg = attachRequest(shown('1', 'tok-1'), 1);
    expect(msg).toEqual({
      type: 'session.attach',
      sessionId: '1',
      replay: true
    });
  });

  it('never keeps the token of an answer naming another session', () => {
    const record = shown('1', 'tok-1');
    applyAttached(record, answer('2', 'tok-of-2'), true);
    expect(record.resume).toBeNull();
    expect(attachRequest(record, 2).resume).toBeUndefined();
  });

  it('forgets the token when an answer carries none (an older server)', () => {
    const record = shown('1', 'tok-1');
    applyAttached(record, answer('1', undefined), true);
    expect(attachRequest(record, 2).resume).toBeUndefined();
  });

  it('keeps no token the server would refuse (over 128 characters)', () => {
    expect(shown('1', 'x'.repeat(128)).resume).toBe('x'.repeat(128));
    expect(shown('1', 'x'.repeat(129)).resume).toBeNull();
  });
});

describe('applyAttached after a restart of the server', () => {
  it('tells a resumed tab the server restarted (another boot, same life)', () => {
    const record = new SessionRecord('1');
    applyAttached(record, answer('1', 'tok-1'), false, false, 'boot-A');
    const { info } = applyAttached(
      record,
      answer('1', 'tok-2', 150),
      true,
      false,
      'boot-B'
    );
    expect(info).toMatchObject({
      serverRestarted: true,
      outputMissing: false,
      newShell: false
    });
    expect(attachNotices(info)).toEqual([
      'the server restarted and this terminal kept running'
    ]);
  });

  it('says output may be missing after a crash, and counts no bytes', () => {
    const record = new SessionRecord('1');
    applyAttached(record, answer('1', 'tok-1'), false, false, 'boot-A');
    const crashed = { ...answer('1', 'tok-2', 2 ** 41), truncated: true };
    const { info } = applyAttached(record, crashed, true, false, 'boot-B');
    expect(info).toMatchObject({ serverRestarted: true, outputMissing: true });
    expect(info.lostBytes).toBe(0);
    expect(attachNotices(info)[0]).toContain('may be missing');
  });

  it('says nothing of a restart on the same server, or for a new shell', () => {
    const record = new SessionRecord('1');
    applyAttached(record, answer('1', 'tok-1'), false, false, 'boot-A');
    expect(
      applyAttached(record, answer('1', 'tok-2'), true, false, 'boot-A').info
        .serverRestarted
    ).toBeUndefined();
    const other = { ...answer('1', 'tok-3'), incarnation: 'inc-B' };
    const { info } = applyAttached(record, other, true, false, 'boot-C');
    expect(info.newShell).toBe(true);
    expect(info.serverRestarted).toBeUndefined();
  });
});
