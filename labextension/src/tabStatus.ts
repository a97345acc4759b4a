/**
 * A tab's status where the page shows it: its label and marks in the tab bar
 * (tabTitle.ts), followed from the program (its title, OSC 0/2, and its bell),
 * and its state on the tab's node (`data-state`, `data-exit`) for styles and tests.
 */
import { Terminal } from '@xterm/xterm';

import { ITitleLike, TabLabel, TabState } from './tabTitle';

export class TabStatus extends TabLabel {
  constructor(
    title: ITitleLike,
    private readonly _node: HTMLElement,
    label: string,
    renamed: boolean
  ) {
    super(title, label, renamed);
    this.state = 'attaching';
  }

  get state(): TabState {
    return super.state;
  }

  set state(value: TabState) {
    super.state = value;
    this._node.dataset.state = value;
  }

  exited(exitCode: number | null, signal?: string): void {
    super.exited(exitCode, signal);
    this._node.dataset.state = 'exited';
    this._node.dataset.exit = signal ?? String(exitCode);
  }

  /** Follow `term`'s title (unless renamed or `followTitle()` is off) and mark a bell rung out of sight. */
  follow(
    term: Terminal,
    inSight: () => boolean,
    followTitle: () => boolean
  ): void {
    term.onTitleChange(title => this.programTitle(title, followTitle()));
    term.onBell(() => {
      if (!inSight()) {
        this.bell = true;
      }
    });
  }
}
