import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { AGENT_PATH } from '@slime/protocol';
import type { Logger } from 'pino';
import { HubError } from './errors.js';
import { type GoCompat, isGoAgentCall } from './go-compat/go-routes.js';
import { writeRawProblem } from './http/client-errors.js';
import { writeError } from './http/problem.js';
import { continueOnFirstRead } from './http/request-target.js';
import type { RequestContext } from './pipeline/context.js';
import type { HubTracing } from './tracing/hub-tracing.js';

export interface ClientRequestDeps {
  log: Logger;
  /** Whether the hub takes application requests (listening, not draining). */
  accepting(): boolean;
  /** Connected agents, for the health answer. */
  agentCount(): number;
  goCompat: Pick<GoCompat, 'handle'>;
  /** The request's context; throws a HubError for a request the hub refuses outright. */
  context(req: IncomingMessage, res: ServerResponse): RequestContext;
  tracing: HubTracing | undefined;
  run(ctx: RequestContext): Promise<void>;
  /** An application request began; a drain waits for its response to close. */
  track(res: ServerResponse): void;
}

/** Whether the target's path (before any query) is `path`, without splitting the target per request. */
function pathIs(url: string, path: string): boolean {
  return url.startsWith(path) && (url.length === path.length || url.charCodeAt(path.length) === 63); // '?'
}

/**
 * What the client port does with an ordinary request (not an upgrade): a Go agent's call, the
 * health check, a misdirected agent, or an application request through the pipeline; plus the
 * answers for Expect and CONNECT, which Node routes to their own events.
 */
export function serveClientRequests(server: Server, deps: ClientRequestDeps): void {
  const { log } = deps;
  /** The request's context, or undefined once a request the hub refuses outright was answered. */
  const contextFor = (req: IncomingMessage, res: ServerResponse): RequestContext | undefined => {
    try {
      return deps.context(req, res);
    } catch (err) {
      writeError(res, err);
      return undefined;
    }
  };
  server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
    continueOnFirstRead(req, res);
    server.emit('request', req, res);
  });
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    res.setHeader('connection', 'close');
    writeError(res, new HubError('ERR_HUB_EXPECTATION_FAILED', 'only Expect: 100-continue is supported'));
  });
  // A reverse proxy has no tunnels to offer; Node would reset the connection without a listener.
  server.on('connect', (_req: IncomingMessage, socket: Socket) => {
    writeRawProblem(
      socket,
      new HubError('ERR_HUB_METHOD_NOT_ALLOWED', 'CONNECT is not served: this is a reverse proxy'),
    );
  });
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    // A Go agent's call (POST with Slime-Agent-Token): served with --accept-go-tokens, else refused.
    if (isGoAgentCall(req)) {
      deps.goCompat.handle(req, res);
      return;
    }
    if (!deps.accepting()) {
      res.setHeader('connection', 'close');
      writeError(res, new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 }));
      return;
    }
    const url = req.url ?? '';
    if (pathIs(url, '/_slime/health')) {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ status: 'ok', agents: deps.agentCount() }));
      return;
    }
    if (pathIs(url, AGENT_PATH)) {
      writeError(res, new HubError('ERR_HUB_BAD_REQUEST', 'agents must connect with a WebSocket upgrade'));
      return;
    }
    const ctx = contextFor(req, res);
    if (ctx === undefined) return;
    deps.tracing?.startRequest(ctx);
    deps.track(res);
    deps.run(ctx).catch((err: unknown) => {
      log.error({ err }, 'pipeline failed outside the error boundary');
      res.destroy();
    });
  });
}
