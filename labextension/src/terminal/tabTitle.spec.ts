import { describe, expect, it } from 'vitest';

import { exitMark, TabLabel } from './tabTitle';

function title() {
  return { label: '', caption: '', className: '' };
}

describe('tab label', () => {
  it('follows the program title until renamed', () => {
    const t = title();
    const label = new TabLabel(t, 'Terminal 1');
    label.programTitle('user@host: ~/demo', true);
    expect(t.label).toBe('user@host: ~/demo');
    label.programTitle('ignored', false);
    expect(t.label).toBe('user@host: ~/demo');
    label.rename('build');
    label.programTitle('vim', true);
    expect(t.label).toBe('build');
    expect(label.renamed).toBe(true);
  });

  it('marks an exit with its code or signal and keeps the label', () => {
    expect(exitMark(3)).toBe('[exit 3]');
    expect(exitMark(null, 'SIGKILL')).toBe('[SIGKILL]');
    expect(exitMark(null)).toBe('[exited]');
    const t = title();
    const label = new TabLabel(t, 'make');
    label.exited(2);
    expect(t.label).toBe('make [exit 2]');
    expect(label.label).toBe('make');
    expect(t.className).toBe('jp-TermMux-tab-exited');
  });

  it('shows activity and bell marks as classes', () => {
    const t = title();
    const label = new TabLabel(t, 'x');
    label.state = 'attached';
    label.bell = true;
    label.activity = true;
    expect(t.className).toBe(
      'jp-TermMux-tab-attached jp-TermMux-activity jp-TermMux-bell'
    );
    label.bell = false;
    label.activity = false;
    expect(t.className).toBe('jp-TermMux-tab-attached');
  });
});
