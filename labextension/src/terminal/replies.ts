/**
 * Keep xterm.js from answering terminal queries found in replayed output
 * (PROTOCOL.md "A replay that types nothing"; jupyterlab#17179): while the
 * chunk xterm parses is a replay or a preamble, the query sequences are
 * swallowed by parser hooks, so no answer is generated at all. Unlike
 * dropping every onData event during a replay, keys the user types meanwhile
 * still reach the shell. The server also blanks these queries in replays.
 */
import { IDisposable } from '@lumino/disposable';

import { SCHEMA } from '../protocol/schemaData';

type Params = (number | number[])[];

interface IFunctionIdentifier {
  prefix?: string;
  intermediates?: string;
  final: string;
}

/** What xterm.js's parser hooks return. */
interface IHook {
  dispose(): void;
}

/** The part of xterm.js's `terminal.parser` used here (tests inject a fake). */
export interface IParserLike {
  registerCsiHandler(
    id: IFunctionIdentifier,
    callback: (params: Params) => boolean
  ): IHook;
  registerDcsHandler(
    id: IFunctionIdentifier,
    callback: (data: string, params: Params) => boolean
  ): IHook;
  registerOscHandler(ident: number, callback: (data: string) => boolean): IHook;
}

const QUERIES = SCHEMA.queries;

/** CSI queries xterm.js answers: DSR/CPR, DA1-3, DECRQM, XTVERSION (schema.json `queries`). */
const CSI_QUERIES: readonly IFunctionIdentifier[] = QUERIES.csi;

/** DCS queries: DECRQSS (`$ q`) and XTGETTCAP (`+ q`). */
const DCS_QUERIES: readonly IFunctionIdentifier[] = QUERIES.dcs;

/** OSC colour queries (`OSC 4;n;?`, `OSC 10;?`, 11, 12). */
const OSC_QUERIES: readonly number[] = QUERIES.osc;

/** Window reports (CSI Ps t with Ps 11–21); other window ops pass. */
function isWindowReport(params: Params): boolean {
  const first = params[0];
  const [low, high] = QUERIES.windowReports;
  return typeof first === 'number' && first >= low && first <= high;
}

/**
 * Swallow query sequences while `replaying()` is true; returns the hooks'
 * handle (dispose to remove them).
 */
export function guardReplies(
  parser: IParserLike,
  replaying: () => boolean
): IDisposable {
  const hooks: IHook[] = [
    ...CSI_QUERIES.map(id => parser.registerCsiHandler(id, () => replaying())),
    ...DCS_QUERIES.map(id => parser.registerDcsHandler(id, () => replaying())),
    ...OSC_QUERIES.map(ident =>
      parser.registerOscHandler(
        ident,
        data => replaying() && data.includes('?')
      )
    ),
    parser.registerCsiHandler(
      { final: 't' },
      params => replaying() && isWindowReport(params)
    )
  ];
  let disposed = false;
  return {
    get isDisposed() {
      return disposed;
    },
    dispose() {
      disposed = true;
      hooks.forEach(hook => hook.dispose());
    }
  };
}
