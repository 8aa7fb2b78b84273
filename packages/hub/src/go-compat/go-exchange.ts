import type { IncomingMessage, ServerResponse } from 'node:http';
import { HubError } from '../errors.js';
import { writeProblem } from '../http/problem.js';

/** One HTTP exchange with a Go agent on the hub's side: its call and the answer to it. */
export interface Exchange {
  req: IncomingMessage;
  res: ServerResponse;
}

/**
 * Answers an agent call the hub will not take with a problem, and closes its connection: the agent
 * may still be sending (a submit's body), and it must stop.
 */
export function refuseAndClose(req: IncomingMessage, res: ServerResponse, err: HubError): void {
  if (res.headersSent || res.destroyed) {
    req.socket?.destroy();
    return;
  }
  res.setHeader('connection', 'close');
  res.once('finish', () => req.socket?.destroy());
  writeProblem(res, err);
}

/** Refuses a submit no request waits for. */
export function refuseSubmit(req: IncomingMessage, res: ServerResponse, detail: string): void {
  refuseAndClose(req, res, new HubError('ERR_HUB_NOT_FOUND', `no request waits for this submit: ${detail}`));
}
