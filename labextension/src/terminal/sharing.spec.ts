/**
 * Sharing, the pure parts: the read-only link and reading it back, presence
 * counts and marks, the recording's path and file name, and the presence
 * poller's rounds under a fake clock.
 */
import { describe, expect, it } from 'vitest';

import { FakeTimers } from '../fakes.testutil';
import {
  castFileName,
  castPath,
  mayCreate,
  othersWatching,
  presenceMark,
  PresencePoller,
  PRESENCE_POLL_MS,
  refreshPresence,
  viewedSession,
  viewLink,
  VIEW_ROUTE,
  withoutView
} from './sharing';
import { TabLabel } from './tabTitle';

describe('the read-only link', () => {
  it('is the Lab page with the session in its query, escaped', () => {
    expect(viewLink('http://h:8888/user/ann/', '3')).toBe(
      'http://h:8888/user/ann/lab?termmux-view=3'
    );
    expect(viewLink('http://h/base', 'a b&c')).toBe(
      'http://h/base/lab?termmux-view=a%20b%26c'
    );
  });

  it('reads back to the same session, and the route matches it', () => {
    const link = new URL(viewLink('http://h/', 'a b&c'));
    expect(viewedSession(link.search)).toBe('a b&c');
    expect(VIEW_ROUTE.test('/lab?termmux-view=1')).toBe(true);
    expect(VIEW_ROUTE.test('/lab?reset&termmux-view=1')).toBe(true);
    expect(VIEW_ROUTE.test('/lab/tree/termmux-view=1')).toBe(false);
  });

  it('names no session when the parameter is absent or empty', () => {
    expect(viewedSession('')).toBeNull();
    expect(viewedSession('?reset')).toBeNull();
    expect(viewedSession('?termmux-view=')).toBeNull();
  });

  it('is dropped from the query once opened, other parameters kept', () => {
    expect(withoutView('?termmux-view=1')).toBe('');
    expect(withoutView('?reset=&termmux-view=1')).toBe('?reset=');
  });
});

describe('presence', () => {
  it('counts everyone subscribed but this page', () => {
    const info = { sessionId: '1', clients: 4, attached: true };
    expect(othersWatching({ ...info, writers: 1, viewers: 3 }, 'write')).toBe(
      3
    );
    expect(othersWatching({ ...info, writers: 1, viewers: 3 }, 'view')).toBe(3);
    expect(othersWatching({ ...info, writers: 1, viewers: 0 }, 'write')).toBe(
      0
    );
  });

  it('falls back to clients as writers on a server without the counts', () => {
    const info = { sessionId: '1', clients: 2, attached: true };
    expect(othersWatching(info, 'write')).toBe(1);
    expect(othersWatching({ ...info, clients: 0 }, 'write')).toBe(0);
  });

  it('shows an eye and the count, nothing when alone, after the label and exit mark', () => {
    expect(presenceMark(0)).toBe('');
    expect(presenceMark(3)).toBe('👁 3');
    const title = { label: '', caption: '', className: '' };
    const label = new TabLabel(title, 'bash');
    label.presence = presenceMark(2);
    expect(title.label).toBe('bash 👁 2');
    label.exited(1);
    expect(title.label).toBe('bash [exit 1] 👁 2');
    label.presence = '';
    expect(title.label).toBe('bash [exit 1]');
  });
});

describe('the recording', () => {
  it('is fetched from the cast endpoint and saved as NAME.cast', () => {
    expect(castPath('a b')).toBe('api/termmux/sessions/a%20b/cast');
    expect(castFileName('build-1')).toBe('build-1.cast');
    expect(castFileName('../x')).toBe('.._x.cast');
  });
});

describe('PresencePoller', () => {
  it('polls every interval while in sight, one round at a time, failures ignored', async () => {
    const timers = new FakeTimers();
    let inSight = true;
    let rounds = 0;
    let finish: () => void = () => undefined;
    const poller = new PresencePoller(
      () => inSight,
      () => {
        rounds++;
        return new Promise<void>((_, reject) => {
          finish = () => reject(new Error('lost'));
        });
      },
      timers
    );
    expect(rounds).toBe(0);
    timers.runAll(PRESENCE_POLL_MS);
    expect(rounds).toBe(1);
    timers.runAll(PRESENCE_POLL_MS); // the first round has not answered
    expect(rounds).toBe(1);
    finish();
    await new Promise(resolve => setTimeout(resolve, 0));
    timers.runAll(PRESENCE_POLL_MS);
    expect(rounds).toBe(2);
    finish();
    await new Promise(resolve => setTimeout(resolve, 0));
    inSight = false;
    timers.runAll(PRESENCE_POLL_MS);
    expect(rounds).toBe(2);
    poller.dispose();
    inSight = true;
    timers.runAll();
    expect(rounds).toBe(2);
  });
});

describe('refreshPresence', () => {
  it('sets each tab from one session.list, zero for a session no longer listed', async () => {
    const tabs = [
      { sessionId: '1', mode: 'write' as const, watchers: -1 },
      { sessionId: '2', mode: 'view' as const, watchers: -1 },
      { sessionId: 'gone', mode: 'write' as const, watchers: 5 }
    ];
    let lists = 0;
    const connection = {
      status: 'connected' as const,
      listSessions: async () => {
        lists++;
        return [
          {
            sessionId: '1',
            clients: 3,
            attached: true,
            writers: 1,
            viewers: 2
          },
          { sessionId: '2', clients: 2, attached: true, writers: 1, viewers: 1 }
        ];
      }
    };
    await refreshPresence(connection, tabs);
    expect(lists).toBe(1);
    expect(tabs.map(t => t.watchers)).toEqual([2, 1, 0]);
  });

  it('asks nothing while disconnected or without tabs', async () => {
    let lists = 0;
    const listSessions = async () => {
      lists++;
      return [];
    };
    await refreshPresence({ status: 'reconnecting', listSessions }, [
      { sessionId: '1', mode: 'write', watchers: 0 }
    ]);
    await refreshPresence({ status: 'connected', listSessions }, []);
    expect(lists).toBe(0);
  });
});

describe('who may create terminals', () => {
  it('is a user with write access, or anyone when the server sends no access list', () => {
    expect(mayCreate({ access: ['read', 'write', 'execute'] })).toBe(true);
    expect(mayCreate({ access: ['read'] })).toBe(false);
    expect(mayCreate({ access: ['read', 'execute'] })).toBe(false);
    expect(mayCreate({})).toBe(true);
    expect(mayCreate(null)).toBe(true);
  });
});
