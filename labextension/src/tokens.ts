/** Tokens other plugins (and this package's panel plugin) depend on. */
import { Token } from '@lumino/coreutils';

import type * as connection from './connection';

/** The page's single multiplexed termmux connection (see connection.ts). */
export type ITermMuxConnection = connection.ITermMuxConnection;

/** The page's single multiplexed termmux connection. */
export const ITermMuxConnection = new Token<ITermMuxConnection>(
  'jupyter-termmux:ITermMuxConnection',
  'The single multiplexed WebSocket shared by every termmux terminal of the page.'
);
