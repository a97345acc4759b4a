/** The panel's strings go through the translator JupyterLab gives the plugin. */
import { afterEach, describe, expect, it } from 'vitest';
import type { ITranslator, TranslationBundle } from '@jupyterlab/translation';

import { DOMAIN, setTranslator, trans } from './i18n';
import { exitNotice } from './terminal/notices';
import { protocolText, statusText } from './panel/statusText';

/** A translator whose bundles bracket every message, and remember the domain asked for. */
function bracketing(domains: string[]): ITranslator {
  const bundle = {
    __: (msg: string, ...args: unknown[]) =>
      `[${args.reduce<string>((m, a, i) => m.replace(`%${i + 1}`, String(a)), msg)}]`
  } as unknown as TranslationBundle;
  return {
    languageCode: 'xx',
    load: (domain: string) => {
      domains.push(domain);
      return bundle;
    }
  } as ITranslator;
}

describe('translations', () => {
  afterEach(() => setTranslator(null));

  it('shows the English strings, arguments filled in, without a translator', () => {
    expect(trans().__('session %1 exited', '3')).toBe('session 3 exited');
    expect(exitNotice('3', 1)).toBe('session 3 exited with code 1');
    expect(statusText('connected')).toBe('Connected');
  });

  it('loads the jupyter_termmux domain and routes text through it', () => {
    const domains: string[] = [];
    setTranslator(bracketing(domains));
    expect(domains).toEqual([DOMAIN]);
    expect(exitNotice('3', null, 'SIGKILL')).toBe(
      '[session 3 exited, killed by SIGKILL]'
    );
    expect(statusText('closed')).toBe('[Disconnected — click to reconnect]');
    expect(protocolText(null)).toBe('[not connected yet]');
  });
});
