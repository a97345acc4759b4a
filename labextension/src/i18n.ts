/**
 * The panel's translations: one bundle of the `jupyter_termmux` domain, loaded
 * from JupyterLab's ITranslator when the plugin starts. Every module that
 * shows text asks `trans()` at the moment it shows it, so the strings follow
 * the language JupyterLab was started in; without a translator (unit tests,
 * a Lab without the translation plugin) the English source strings are shown.
 */
import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

/** The gettext domain of the panel's strings (a language pack may provide it). */
export const DOMAIN = 'jupyter_termmux';

let bundle: TranslationBundle = nullTranslator.load(DOMAIN);

/** Use `translator` for every string shown from now on. */
export function setTranslator(translator: ITranslator | null): void {
  bundle = (translator ?? nullTranslator).load(DOMAIN);
}

/** The page's translation bundle (`trans().__('Copy')`, `_n`, `_p`). */
export function trans(): TranslationBundle {
  return bundle;
}
