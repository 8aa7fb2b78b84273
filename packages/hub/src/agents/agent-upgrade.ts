import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AGENT_PATH, type AgentClaims } from '@slime/protocol';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { statusTitle } from '../http/problem.js';
import { bearerToken, TokenError, type TokenRejection, type TokenVerifier } from './tokens.js';

export interface AgentUpgradeDeps {
  verifier: TokenVerifier;
  wss: WebSocketServer;
  log: Logger;
  /** Whether the hub takes new agents (false while it drains or after it closed). */
  accepting: () => boolean;
  /** A verified agent's WebSocket is open. */
  onAgent: (ws: WebSocket, claims: AgentClaims, req: IncomingMessage) => void;
  /** An upgrade was refused by the token check; `reason` is the TokenRejection or "error". */
  onRefused?: ((reason: string) => void) | undefined;
}

/** True for the one upgrade the hub takes: a WebSocket to GET /_slime/agent. */
export function isAgentUpgrade(req: IncomingMessage): boolean {
  return req.method === 'GET' && req.url?.split('?', 1)[0] === AGENT_PATH && offersWebSocket(req);
}

/** The request offers a WebSocket (RFC 6455 §4.1: `Upgrade: websocket`, any case). */
export function offersWebSocket(req: IncomingMessage): boolean {
  const upgrade = req.headers.upgrade;
  return upgrade?.split(',').some((t) => t.trim().toLowerCase() === 'websocket') === true;
}

/**
 * The HTTP upgrade of `GET /_slime/agent`: the bearer token is verified before the WebSocket
 * exists, so a refused agent costs one HTTP answer (problem+json) and never a socket we own.
 */
export function agentUpgradeHandler(deps: AgentUpgradeDeps) {
  const { verifier, wss, log } = deps;
  return (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    // A function of no closure: a closure here would keep this upgrade's request, head and socket
    // alive for the connection's lifetime (~2 KiB per agent), since the socket keeps its listener.
    socket.on('error', destroySocket);
    const path = req.url?.split('?', 1)[0];
    if (!deps.accepting()) {
      // Another hub behind the same address may take the agent: it retries.
      rejectUpgrade(socket, 503, { code: 'ERR_HUB_SHUTTING_DOWN', detail: 'hub is shutting down' });
      return;
    }
    if (path !== AGENT_PATH) {
      rejectUpgrade(socket, 404, { code: 'ERR_HUB_NOT_FOUND', detail: 'not the agent endpoint' });
      return;
    }
    verifier.verify(bearerToken(req.headers.authorization)).then(
      (claims) => {
        if (!deps.accepting() || socket.destroyed) {
          socket.destroy();
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => deps.onAgent(ws, claims, req));
      },
      (err: unknown) => {
        const reason = err instanceof TokenError ? err.reason : 'error';
        log.warn({ reason, remote: req.socket.remoteAddress }, 'agent refused');
        deps.onRefused?.(reason);
        // The reason is the agent operator's to know (it is their token); it says nothing about
        // the secret. The agent prints it instead of guessing.
        rejectUpgrade(socket, 401, {
          code: 'ERR_HUB_UNAUTHORIZED',
          detail: err instanceof TokenError ? err.message : 'invalid token',
          reason,
        });
      },
    );
  };
}

function destroySocket(this: Duplex): void {
  this.destroy();
}

/** Why the hub refused an agent upgrade: a {@link TokenRejection}, or `error` when the check failed. */
export type AgentRefusalReason = TokenRejection | 'error';

interface UpgradeProblem {
  code: 'ERR_HUB_UNAUTHORIZED' | 'ERR_HUB_NOT_FOUND' | 'ERR_HUB_SHUTTING_DOWN';
  detail: string;
  /** For 401 only: why the token was refused. */
  reason?: AgentRefusalReason;
}

/** An RFC 9457 problem on the raw socket: the upgrade never became a response object. */
function rejectUpgrade(socket: Duplex, status: 401 | 404 | 503, problem: UpgradeProblem): void {
  const title = statusTitle(status);
  const body = JSON.stringify({
    type: `https://slime.dev/errors/${problem.code}`,
    title,
    status,
    detail: problem.detail,
    code: problem.code,
    ...(problem.reason === undefined ? {} : { reason: problem.reason }),
  });
  const retry = status === 503 ? 'Retry-After: 1\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${retry}Cache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
