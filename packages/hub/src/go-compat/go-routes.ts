import type { IncomingMessage, ServerResponse } from 'node:http';
import { type AgentClaims, Limits } from '@slime/protocol';
import { TokenError } from '../agents/tokens.js';
import { HubError } from '../errors.js';
import { writeProblem } from '../http/problem.js';
import { GoAgentWorker } from './go-agent.js';
import {
  GO_AGENT_PATHS,
  type GoCompat,
  type GoCompatOptions,
  isGoAgentCall,
  parseAgentId,
} from './go-compat-types.js';
import { refuseAndClose } from './go-exchange.js';
import type { GoStream } from './go-stream.js';

export { type GoCompat, type GoCompatOptions, isGoAgentCall };

// Most hardware reports remembered between a join and the worker's first poll.
const MAX_HARDWARE_ENTRIES = 4096;

/**
 * Serves the Go Slime Proxy agent's long-poll protocol: `join` records the worker's hardware,
 * `accept` is a poll (one credit in our dispatcher), `submit` carries the response back.
 */
export function createGoCompat(options: GoCompatOptions): GoCompat {
  const { verifier, dispatcher, log, now } = options;
  const refusalDelayMs = options.refusalDelayMs ?? 1000;
  const workers = new Map<string, GoAgentWorker>();
  const streams = new Map<string, { stream: GoStream; worker: GoAgentWorker }>();
  const hardware = new Map<string, unknown>();
  const delayed = new Map<NodeJS.Timeout, () => void>();
  let closed = false;
  let onDrained: (() => void) | null = null;
  /** Runs the drain callback once no handed-over request waits for its submit. */
  const checkDrained = () => {
    if (!onDrained) return;
    for (const { stream } of streams.values()) if (stream.active && !stream.submitted) return;
    const done = onDrained;
    onDrained = null;
    done();
  };
  if (options.enabled) log.info('accepting Go Slime Proxy tokens and agents (--accept-go-tokens)');

  const host = {
    accepting: () => !closed && options.accepting(),
    now,
    log,
    onCapacity: (w: GoAgentWorker) => dispatcher.capacity(w),
    onNoCapacity: (w: GoAgentWorker) => dispatcher.remove(w),
    register: (stream: GoStream, worker: GoAgentWorker) => {
      streams.set(stream.connectionId, { stream, worker });
      stream.onSettled(checkDrained);
    },
    unregister: (stream: GoStream) => {
      streams.delete(stream.connectionId);
      checkDrained();
    },
  };

  function remove(worker: GoAgentWorker, reason: string, err?: HubError): void {
    worker.close(reason, err);
    if (workers.get(worker.key) === worker) workers.delete(worker.key);
    dispatcher.remove(worker);
    log.info({ agent: worker.id, reason }, 'Go agent worker gone');
    options.onWorkerRemoved?.(worker);
  }

  /** Answers a refused call; a refused poll only after the delay (see refusalDelayMs). */
  function refuse(req: IncomingMessage, res: ServerResponse, err: HubError, delay: boolean): void {
    req.resume();
    const answer = () => {
      if (!res.headersSent && !res.destroyed) writeProblem(res, err);
    };
    if (!delay || refusalDelayMs <= 0 || closed) {
      answer();
      return;
    }
    const timer = setTimeout(() => {
      delayed.delete(timer);
      answer();
    }, refusalDelayMs);
    delayed.set(timer, answer);
    res.once('close', () => {
      clearTimeout(timer);
      delayed.delete(timer);
    });
  }

  function join(req: IncomingMessage, res: ServerResponse, key: string): void {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (data: Buffer) => {
      size += data.byteLength;
      if (size > Limits.MAX_HARDWARE_BYTES) {
        if (!tooLarge) {
          tooLarge = true;
          refuseAndClose(
            req,
            res,
            new HubError(
              'ERR_HUB_BAD_REQUEST',
              `hardware report larger than ${Limits.MAX_HARDWARE_BYTES} bytes`,
            ),
          );
        }
        return;
      }
      chunks.push(data);
    });
    req.once('end', () => {
      if (tooLarge || res.destroyed) return;
      let report: unknown = null;
      if (size > 0) {
        try {
          report = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          // The Go hub ignored a report it could not decode; so do we.
        }
      }
      if (hardware.size >= MAX_HARDWARE_ENTRIES && !hardware.has(key)) {
        hardware.delete(hardware.keys().next().value!);
      }
      hardware.set(key, report);
      const worker = workers.get(key);
      if (worker) worker.hardware = report;
      res.writeHead(200, { 'content-length': '0' });
      res.end();
    });
  }

  function accept(
    req: IncomingMessage,
    res: ServerResponse,
    claims: AgentClaims,
    agentId: string,
    key: string,
  ) {
    req.resume();
    let worker = workers.get(key);
    if (!worker || worker.closed) {
      worker = new GoAgentWorker(host, {
        key,
        agentId,
        claims,
        remoteAddress: req.socket.remoteAddress ?? '',
        software: `go-slime-proxy (${String(req.headers['user-agent'] ?? 'unknown client')})`,
      });
      if (hardware.has(key)) worker.hardware = hardware.get(key);
      workers.set(key, worker);
      log.info(
        { agent: worker.id, name: worker.name, remote: worker.remoteAddress },
        'Go agent worker polling',
      );
      options.onWorkerAdded?.(worker);
    }
    worker.remoteAddress = req.socket.remoteAddress ?? worker.remoteAddress;
    // A poll can wait for hours in silence: keep-alive probes notice a peer that vanished.
    req.socket.setKeepAlive(true, options.keepAliveMs);
    worker.poll({ req, res });
  }

  function submit(req: IncomingMessage, res: ServerResponse, claims: AgentClaims): void {
    const id = req.headers['slime-connection-id'];
    const entry = typeof id === 'string' && /^\d{1,20}$/.test(id) ? streams.get(id) : undefined;
    if (!entry) {
      refuseAndClose(req, res, new HubError('ERR_HUB_NOT_FOUND', 'Connection not found'));
      return;
    }
    if (entry.worker.claims.jti !== claims.jti) {
      refuseAndClose(
        req,
        res,
        new HubError('ERR_HUB_FORBIDDEN', 'the connection belongs to another agent token'),
      );
      return;
    }
    entry.worker.seen();
    entry.stream.onSubmit(req, res);
    checkDrained();
  }

  function serve(req: IncomingMessage, res: ServerResponse, path: string, claims: AgentClaims): void {
    if (closed || res.destroyed) {
      res.destroy();
      return;
    }
    const agentId = parseAgentId(req.headers['slime-agent-id']);
    if (agentId === null) {
      options.onRefused?.('bad-agent-id');
      refuse(
        req,
        res,
        new HubError('ERR_HUB_UNAUTHORIZED', 'Slime-Agent-Id must be a decimal integer'),
        path === GO_AGENT_PATHS.accept,
      );
      return;
    }
    const key = `${claims.jti}\u0000${agentId}`;
    if (path === GO_AGENT_PATHS.submit) {
      // In-flight work finishes during a drain.
      submit(req, res, claims);
      return;
    }
    if (!host.accepting()) {
      req.resume();
      res.setHeader('connection', 'close');
      writeProblem(res, new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 }));
      return;
    }
    if (path === GO_AGENT_PATHS.join) join(req, res, key);
    else accept(req, res, claims, agentId, key);
  }

  return {
    handle(req, res) {
      const path = req.url?.split('?', 1)[0] ?? '';
      const isPoll = path === GO_AGENT_PATHS.accept;
      if (!options.enabled) {
        refuse(
          req,
          res,
          new HubError(
            'ERR_HUB_NOT_FOUND',
            'this hub does not serve Go Slime Proxy agents: start it with --accept-go-tokens, or run `slime agent run`',
          ),
          isPoll,
        );
        return;
      }
      if (!Object.values(GO_AGENT_PATHS).includes(path as never)) {
        req.resume();
        writeProblem(res, new HubError('ERR_HUB_NOT_FOUND', `no Go agent call at ${path.slice(0, 100)}`));
        return;
      }
      const token = req.headers['slime-agent-token'] as string;
      verifier.verify(token).then(
        (claims) => serve(req, res, path, claims),
        (err: unknown) => {
          const reason = err instanceof TokenError ? err.reason : 'error';
          log.warn({ reason, remote: req.socket.remoteAddress, path }, 'Go agent refused');
          options.onRefused?.(reason);
          refuse(
            req,
            res,
            new HubError('ERR_HUB_UNAUTHORIZED', err instanceof TokenError ? err.message : 'invalid token'),
            isPoll,
          );
        },
      );
    },
    workers: () => [...workers.values()],
    closeAgents(match, reason) {
      const matched = [...workers.values()].filter((w) => match(w.claims));
      for (const w of matched) remove(w, reason, new HubError('ERR_HUB_UNAUTHORIZED', reason));
      return matched.length;
    },
    tick(t) {
      for (const worker of [...workers.values()]) {
        worker.tick(t, options.streamIdleTimeoutMs);
        const idle = worker.idleSince();
        if (idle !== null && t - idle > options.workerIdleMs) remove(worker, 'stopped polling');
      }
    },
    drain(onSubmitsDone) {
      const err = new HubError('ERR_HUB_SHUTTING_DOWN', 'hub is shutting down', { retryAfter: 1 });
      for (const worker of workers.values()) {
        worker.releasePoll(err);
        dispatcher.remove(worker);
      }
      onDrained = onSubmitsDone;
      checkDrained();
    },
    close() {
      if (closed) return;
      closed = true;
      for (const [timer, answer] of delayed) {
        clearTimeout(timer);
        answer();
      }
      delayed.clear();
      for (const worker of [...workers.values()]) remove(worker, 'hub shut down');
      streams.clear();
      hardware.clear();
      checkDrained();
    },
  };
}
