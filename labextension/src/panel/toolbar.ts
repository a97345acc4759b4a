/**
 * The panel's toolbar: "+ New" and its profile menu "▾" (hidden on a server
 * without profiles), the split buttons, "Attach ▾" and the connection
 * indicator, whose tooltip says which protocol the socket speaks and the last
 * failure. The controls that start terminals are hidden from a user who may
 * not create any (a read-only viewer; `data-may-create` lets the panel's CSS
 * hide the tab bar's "+" too). Every control has an accessible name.
 */
import { CommandRegistry } from '@lumino/commands';
import { Menu, Widget } from '@lumino/widgets';

import { trans } from '../i18n';
import { Placement } from './panes';
import { mayCreate } from '../terminal/sharing';
import { protocolText, statusText } from './statusText';
import { ITermMuxConnection } from '../tokens';

export class PanelToolbar extends Widget {
  constructor(options: PanelToolbar.IOptions) {
    super();
    this.addClass('jp-TermMux-toolbar');
    this.node.setAttribute('role', 'toolbar');
    this._connection = options.connection;
    const t = trans();
    this.node.setAttribute('aria-label', t.__('Terminal multiplexer'));
    const add = button(
      'jp-TermMux-new',
      t.__('+ New'),
      t.__('New terminal tab')
    );
    add.addEventListener('click', () => options.onNew());
    const profiles = button(
      'jp-TermMux-newMenu',
      '▾',
      t.__('New terminal tab with one of the server’s shell profiles')
    );
    profiles.setAttribute('aria-haspopup', 'menu');
    profiles.addEventListener('click', () => options.onNewMenu(profiles));
    this._profiles = profiles;
    const right = button(
      'jp-TermMux-split-right',
      t.__('◫ Split'),
      t.__('New terminal in a pane to the right')
    );
    right.addEventListener('click', () => options.onSplit('split-right'));
    const down = button(
      'jp-TermMux-split-down',
      t.__('⊟ Split'),
      t.__('New terminal in a pane below')
    );
    down.addEventListener('click', () => options.onSplit('split-bottom'));
    const attach = button(
      'jp-TermMux-attach',
      t.__('Attach ▾'),
      t.__('Open a running terminal in a tab')
    );
    attach.setAttribute('aria-haspopup', 'menu');
    attach.addEventListener('click', () => options.onAttach(attach));
    this._creators = [add, right, down];
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
    this._profilesAvailable = available;
    this.update();
  }

  /** Show the connection's status and protocol, and the controls this user may use. */
  update(): void {
    const status = this._connection.status;
    const node = this._status;
    node.dataset.status = status;
    delete node.dataset.error;
    node.textContent = statusText(status);
    const info = this._connection.protocol;
    node.title = protocolText(info);
    node.setAttribute(
      'aria-label',
      trans().__('Connection: %1 (%2)', statusText(status), node.title)
    );
    const creates = mayCreate(info);
    this.node.dataset.mayCreate = String(creates);
    this._creators.forEach(b => (b.hidden = !creates));
    this._profiles.hidden = !creates || !this._profilesAvailable;
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
    const last = trans().__('last error: %1', err.message);
    this._status.title = `${protocol}\n${last}`;
    this._status.dataset.error = err.message;
  }

  private readonly _connection: ITermMuxConnection;
  private readonly _status: HTMLButtonElement;
  private readonly _profiles: HTMLButtonElement;
  private readonly _creators: HTMLButtonElement[];
  private _profilesAvailable = true;
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

/** A toolbar button; `title` is also its accessible name (its text has symbols). */
function button(name: string, text: string, title: string): HTMLButtonElement {
  const node = document.createElement('button');
  node.className = `jp-TermMux-button ${name}`;
  node.textContent = text;
  node.title = title;
  node.setAttribute('aria-label', title);
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
