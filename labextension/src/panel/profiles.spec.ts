import { describe, expect, it } from 'vitest';

import { TermMuxError } from '../protocol/errors';
import { profilesOrNull, sortProfiles } from './profiles';

describe('profiles for the UI', () => {
  it('are null on a server that does not know profile.list', async () => {
    const older = {
      listProfiles: () =>
        Promise.reject(new TermMuxError('unknown-type', 'unknown type'))
    };
    expect(await profilesOrNull(older)).toBeNull();
    const failing = {
      listProfiles: () => Promise.reject(new TermMuxError('timeout', 'slow'))
    };
    await expect(profilesOrNull(failing)).rejects.toMatchObject({
      code: 'timeout'
    });
  });

  it('put the default first', async () => {
    const server = {
      listProfiles: async () => [
        { name: 'python', default: false },
        { name: 'bash', default: true }
      ]
    };
    const profiles = await profilesOrNull(server);
    expect(sortProfiles(profiles!).map(p => p.name)).toEqual([
      'bash',
      'python'
    ]);
  });
});
