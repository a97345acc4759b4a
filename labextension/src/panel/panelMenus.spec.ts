/** The choices of the panel's Attach ▾ and + New ▾ menus. */
import { describe, expect, it } from 'vitest';

import { attachChoices, profileChoices } from './panelMenus';

describe('panel menus', () => {
  it('offers the sessions not open in the panel, attaching the one chosen', () => {
    const attached: string[] = [];
    const sessions = [
      { sessionId: '1', clients: 2, attached: true },
      { sessionId: '2', clients: 0, attached: false }
    ];
    const choices = attachChoices(sessions, new Set(['1']), id =>
      attached.push(id)
    );
    expect(choices.map(c => [c.label, c.caption])).toEqual([
      ['Terminal 2', '0 client(s) attached']
    ]);
    choices[0].execute();
    expect(attached).toEqual(['2']);
  });

  it('offers every profile, the default one marked', () => {
    const started: string[] = [];
    const choices = profileChoices(
      [
        { name: 'bash', default: true },
        { name: 'python', default: false }
      ],
      p => started.push(p)
    );
    expect(choices.map(c => c.label)).toEqual([
      'bash (default shell)',
      'python'
    ]);
    choices[1].execute();
    expect(started).toEqual(['python']);
  });
});
