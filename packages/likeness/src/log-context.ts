import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { type Logger } from 'pino';

/** What every log line written while handling a request carries: its request id, and its session's id. */
export interface LogContext {
  req_id: string;
  session_id?: string;
}

export const logContext = new AsyncLocalStorage<LogContext>();

/**
 * The server's logger: JSON lines (pino) to stdout or `destination`, each with the request and session ids of
 * the request it was written for, wherever in the code it was written. Work a request starts that outlives it
 * (a live session's media) keeps that request's ids: the session id stays right; the request id is where it
 * began.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, mixin: () => ({ ...logContext.getStore() }) };
  return destination ? pino(options, destination) : pino(options);
}
