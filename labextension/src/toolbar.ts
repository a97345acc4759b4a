/**
 * The panel's toolbar: "+ New" and its profile menu "▾" (hidden on a server
 * without profiles), the split buttons, "Attach ▾" and the connection
 * indicator, whose tooltip says which protocol the socket speaks and the last
 * failure.
 */
import { CommandRegistry } from '@lumino/commands';
import { Menu, Widget } from '@lumino/widgets';

import { Placement } from './panes';
import { protocolText, STATUS_TEXT } from './statusText';
import { ITermMuxConnection } from './tokens';

export class PanelToolbar extends Widget {
  constructor(options: PanelToolbar.IOptions) {
    super();
    this.addClass('jp-TermMux-toolbar');
    this._connection = options.connection;
    const add = button('jp-TermMux-new', '+ New', 'New terminal tab');
    add.addEventListener('click', () => options.onNew());
    const profiles = button(
      'jp-TermMux-newMenu',
      '▾',
      'New terminal tab with one of the server’s shell profiles'
    );
    profiles.addEventListener('click', () => options.onNewMenu(profiles));
    this._profiles = profiles;
    const right = button(
      'jp-TermMux-split-right',
      '◫ Split',
      'New terminal in a pane to the right'
    );
    right.addEventListener('click', () => options.onSplit('split-right'));
    const down = button(
      'jp-TermMux-split-down',
      '⊟ Split',
      'New terminal in a pane below'
    );
    down.addEventListener('click', () => options.onSplit('split-bottom'));
    const attach = button(
      'jp-TermMux-attach',
      'Attach ▾',
      'Open a running terminal in a tab'
    );
    attach.addEventListener('click', () => options.onAttach(attach));
    const spacer = document.createElement('span');
    spacer.className = 'jp-TermMux-spacer';
    this._status = document.createElement('button');
    this._status.className = 'jp-TermMux-status';
    this._status.addEventListener('click', () => {
      if (this._connection.status === 'closed') {
        this._connection.reconnect();
      }
    });
    this.node.append(add, profiles, right, down, attach);
    this.node.append(spacer, this._status);
    this._connection.statusChanged.connect(this.update, this);
    this._connection.protocolChanged.connect(this.update, this);
    this._connection.failed.connect(this._onFailed, this);
    this.update();
  }

  /** Hide the profile menu when the server has no profiles to offer (an older server). */
  setProfilesAvailable(available: boolean): void {
    this._profiles.hidden = !available;
  }

  /** Show the connection's status and protocol. */
  update(): void {
    const status = this._connection.status;
    const node = this._status;
    node.dataset.status = status;
    delete node.dataset.error;
    node.textContent = STATUS_TEXT[status];
    const info = this._connection.protocol;
    node.title = protocolText(info);
    node.dataset.protocol = info === null ? '' : String(info.version);
    // aria-disabled, not disabled: a disabled button shows no tooltip.
    node.setAttribute('aria-disabled', String(status !== 'closed'));
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._connection.statusChanged.disconnect(this.update, this);
    this._connection.protocolChanged.disconnect(this.update, this);
    this._connection.failed.disconnect(this._onFailed, this);
    super.dispose();
  }

  private _onFailed(_: ITermMuxConnection, err: Error): void {
    // Shown in the indicator until the next status change.
    const protocol = protocolText(this._connection.protocol);
    this._status.title = `${protocol}\nlast error: ${err.message}`;
    this._status.dataset.error = err.message;
  }

  private readonly _connection: ITermMuxConnection;
  private readonly _status: HTMLButtonElement;
  private readonly _profiles: HTMLButtonElement;
}

export namespace PanelToolbar {
  export interface IOptions {
    connection: ITermMuxConnection;
    onNew: () => void;
    onNewMenu: (anchor: HTMLElement) => void;
    onSplit: (placement: Placement) => void;
    onAttach: (anchor: HTMLElement) => void;
  }
}

function button(name: string, text: string, title: string): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = `jp-TermMux-button ${name}`;
  node.textContent = text;
  node.title = title;
  return node;
}

/** One entry of a toolbar menu. */
export interface IMenuChoice {
  label: string;
  caption?: string;
  execute: () => void;
}

/** A menu of `choices` (or a disabled `empty` line), opened under `anchor`. */
export function openChoiceMenu(
  anchor: HTMLElement,
  className: string,
  choices: IMenuChoice[],
  empty: string
): void {
  const commands = new CommandRegistry();
  const menu = new Menu({ commands });
  menu.addClass(className);
  choices.forEach((choice, i) => {
    // Names are any string (REST ids, profile names): index the commands.
    const command = `choice:${i}`;
    commands.addCommand(command, { ...choice });
    menu.addItem({ command });
  });
  if (choices.length === 0) {
    commands.addCommand('none', {
      label: empty,
      isEnabled: () => false,
      execute: () => undefined
    });
    menu.addItem({ command: 'none' });
  }
  const rect = anchor.getBoundingClientRect();
  menu.open(rect.left, rect.bottom);
}
