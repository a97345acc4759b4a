/**
 * Hyperlinks a program prints with OSC 8 (`ESC ] 8 ;; URI ST text ESC ] 8 ;; ST`):
 * the text shown may differ from where the link goes, so a click first shows
 * the address and asks, as JupyterLab's terminal does, then opens it in a new
 * browser tab without an opener. Plain URLs in the output are handled by the
 * web-links addon (features.ts).
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import type { ILinkHandler } from '@xterm/xterm';

import { trans } from '../i18n';

/** Ask before opening `uri`; resolves whether it was opened. */
export async function confirmOpenLink(uri: string): Promise<boolean> {
  const t = trans();
  const result = await showDialog({
    title: t.__('Open Link?'),
    body: t.__('The terminal links to %1. Open it in a new browser tab?', uri),
    buttons: [
      Dialog.cancelButton({ label: t.__('Cancel') }),
      Dialog.okButton({ label: t.__('Open') })
    ]
  });
  if (result.button.accept) {
    window.open(uri, '_blank', 'noopener');
    return true;
  }
  return false;
}

/** xterm's `linkHandler` option: OSC 8 links open after a confirmation. */
export const osc8Links: ILinkHandler = {
  activate: (_event, uri) => void confirmOpenLink(uri)
};
