/**
 * The connection's requests about sessions and profiles: each builds its
 * message, awaits the answer through `request` (which matches it by id and
 * deadline) and checks the answer's type.
 */
import {
  ClientMessage,
  ICreateMessage,
  IProfileInfo,
  ISessionInfo,
  ServerMessage
} from '../protocol/protocol';
import { expectAnswer } from './requests';
import { ICreateOptions } from '../tokens';

/** The `session.create` request for `options` (a size only when both are given). */
export function createMessage(options: ICreateOptions): ICreateMessage {
  const msg: ICreateMessage = { type: 'session.create' };
  if (options.cwd !== undefined) {
    msg.cwd = options.cwd;
  }
  if (options.sessionId !== undefined) {
    msg.sessionId = options.sessionId;
  }
  if (options.rows !== undefined && options.cols !== undefined) {
    msg.rows = options.rows;
    msg.cols = options.cols;
  }
  if (options.profile !== undefined) {
    msg.profile = options.profile;
  }
  return msg;
}

/** Send `msg` as a request described by `what`; resolves to its answer. */
export type Requester = (
  what: string,
  msg: ClientMessage
) => Promise<ServerMessage>;

/** Start a new terminal; resolves to its session id. */
export async function createSession(
  request: Requester,
  options: ICreateOptions
): Promise<string> {
  const reply = await request('Starting a terminal', createMessage(options));
  return expectAnswer(reply, 'session.created').sessionId;
}

/** Terminate a terminal. */
export async function closeSession(
  request: Requester,
  sessionId: string
): Promise<void> {
  const what = `Shutting down terminal ${sessionId}`;
  await request(what, { type: 'session.close', sessionId });
}

/** The server's terminals. */
export async function listSessions(
  request: Requester
): Promise<ISessionInfo[]> {
  const reply = await request('Listing terminals', { type: 'session.list' });
  return expectAnswer(reply, 'session.list').sessions;
}

/** The shell profiles new sessions may start with. */
export async function listProfiles(
  request: Requester
): Promise<IProfileInfo[]> {
  const msg: ClientMessage = { type: 'profile.list' };
  const reply = await request('Listing shell profiles', msg);
  return expectAnswer(reply, 'profile.list').profiles;
}
