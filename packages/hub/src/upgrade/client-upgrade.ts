import { type IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { writeRawProblem } from '../http/client-errors.js';
import { writeError } from '../http/problem.js';
import type { RequestContext } from '../pipeline/context.js';
import { createUpgradeLimits, type UpgradeCapableAgent } from './upgrade-limits.js';
import type { ClientUpgrade, UpgradeObserver } from './upgrade-types.js';

export interface ClientUpgradesOptions {
  /** Upgraded streams per agent connection (`--max-upgrades`); 0 turns client upgrades off. */
  maxUpgrades: number;
  agents: () => Iterable<UpgradeCapableAgent>;
  /** Builds the request context (as for every application request); may throw a HubError. */
  context: (req: IncomingMessage, res: ServerResponse) => RequestContext;
  /** The policy pipeline: the request goes through it like any other. */
  run: (ctx: RequestContext) => Promise<void>;
  /** Whether the hub takes new requests. */
  accepting: () => boolean;
  log: Logger;
  observer?: UpgradeObserver | undefined;
}

export interface ClientUpgrades {
  /** The upgrade tokens a request asks for that the hub carries (every one but h2c), or null. */
  protocols(req: IncomingMessage): string | null;
  /** Serves a request Node handed to the 'upgrade' listener, `protocols` being non-null. */
  handle(req: IncomingMessage, socket: Socket, head: Buffer, protocols: string): void;
  /** Upgraded streams (and upgrades handed over, unanswered) on an agent now. */
  open(agentId: string): number;
}

/**
 * The hub's side of client upgrades (a WebSocket to an application, or any other token but h2c,
 * which is served as HTTP/1.1 without it). Node hands such a request over with the raw socket and
 * no response object: one is made on the socket so the request runs the same pipeline as any
 * other (app auth, access rules, rate limits, routing, Slime-Block, shaping), and every refusal is
 * the same problem+json, in the access log and metrics like the rest. An upstream's 101 is written
 * by the client writer (switchProtocols) and the socket joined to the stream; any other answer is
 * written as it is and the connection closed after it.
 */
export function createClientUpgrades(options: ClientUpgradesOptions): ClientUpgrades {
  const limits = createUpgradeLimits({
    maxUpgrades: options.maxUpgrades,
    agents: options.agents,
    observer: options.observer,
  });

  function protocols(req: IncomingMessage): string | null {
    const tokens = (req.headers.upgrade ?? '')
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '' && t.toLowerCase() !== 'h2c');
    return tokens.length > 0 ? tokens.join(', ') : null;
  }

  function handle(req: IncomingMessage, socket: Socket, head: Buffer, protocols: string): void {
    socket.on('error', () => socket.destroy());
    if (!options.accepting()) {
      writeRawProblem(
        socket,
        new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 }),
      );
      return;
    }
    const release = holdSocket(socket, head);
    const res = new ServerResponse(req);
    // Whatever is answered here but a 101 ends the connection: the parser let go of the socket.
    res.shouldKeepAlive = false;
    res.assignSocket(socket);
    res.once('finish', () => socket.end());
    let ctx: RequestContext;
    try {
      ctx = options.context(req, res);
    } catch (err) {
      writeError(res, err);
      return;
    }
    if (ctx.body !== null) {
      writeError(res, new HubError('ERR_HUB_BAD_REQUEST', 'an upgrade request with a body is not carried'));
      return;
    }
    const upgrade: ClientUpgrade = {
      protocols,
      release,
      events: limits.events,
      gate: (shaping, scope, path, block) => limits.gate(shaping, scope, path, block),
    };
    ctx.upgrade = upgrade;
    options.run(ctx).catch((err: unknown) => {
      options.log.error({ err }, 'pipeline failed outside the error boundary');
      socket.destroy();
    });
  }

  return { protocols, handle, open: limits.open };
}

// Bytes a client may send before the 101 (its first WebSocket frames) are kept up to this much;
// beyond it the socket is paused until the tunnel takes it.
const EARLY_BYTES = 64 * 1024;

/**
 * Keeps reading the client's socket while its upgrade waits for an agent and an answer: a socket
 * nobody reads never reports its peer's close, and a client that gives up must cancel the request
 * at the agent like any other. Early bytes are kept for the tunnel; a FIN before the answer means
 * the client gave up (it could not use the switched connection). Returns the hand-over: the socket
 * paused with the kept bytes back at its front.
 */
function holdSocket(socket: Socket, head: Buffer): () => void {
  const early: Buffer[] = head.byteLength > 0 ? [head] : [];
  let size = head.byteLength;
  const onData = (chunk: Buffer) => {
    early.push(chunk);
    size += chunk.byteLength;
    if (size > EARLY_BYTES) socket.pause();
  };
  const onEnd = () => socket.destroy();
  socket.on('data', onData);
  socket.once('end', onEnd);
  if (size > EARLY_BYTES) socket.pause();
  return () => {
    socket.pause();
    socket.off('data', onData);
    socket.off('end', onEnd);
    if (early.length > 0) socket.unshift(Buffer.concat(early));
    early.length = 0;
  };
}
