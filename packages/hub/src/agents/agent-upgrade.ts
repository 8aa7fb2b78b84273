import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { AGENT_PATH, type AgentClaims } from '@slime/protocol';
import type { Logger } from 'pino';
import type { WebSocket, WebSocketServer } from 'ws';
import { bearerToken, TokenError, type TokenVerifier } from './tokens.js';

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
    socket.on('error', () => socket.destroy());
    const path = req.url?.split('?', 1)[0];
    if (path !== AGENT_PATH || !deps.accepting()) {
      const listening = deps.accepting();
      rejectUpgrade(socket, listening ? 404 : 503, 'not an agent endpoint or hub closing');
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
        rejectUpgrade(socket, 401, err instanceof TokenError ? err.message : 'invalid token');
      },
    );
  };
}

function rejectUpgrade(socket: Duplex, status: number, detail: string): void {
  const title = status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Service Unavailable';
  const body = JSON.stringify({ title, status, detail });
  socket.end(
    `HTTP/1.1 ${status} ${title}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}
