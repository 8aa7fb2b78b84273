import { EventEmitter, once } from 'node:events';
import { CloseCode, DEFAULT_STREAM_WINDOW, Limits } from '@slime/protocol';
import { pino } from 'pino';
import { Pool } from 'undici';
import WebSocket from 'ws';
import { backoffDelay } from './backoff.js';
import { AgentError } from './errors.js';
import { hardwareInfo } from './hardware.js';
import { type AgentOptions, hubUrl, upstreamTarget, validateAgentOptions } from './options.js';
import { Session } from './session.js';
import { UpstreamCall } from './upstream-call.js';

const VERSION = '0.1.0';

export interface Agent extends EventEmitter {
  /** Starts dialing the hub; reconnects forever with capped, jittered backoff. */
  start(): void;
  /** Resolves on the first WELCOME; rejects with ERR_AGENT_UNAUTHORIZED when the hub refuses the token. */
  ready(): Promise<void>;
  readonly connected: boolean;
  /** Upstream calls in progress. */
  readonly activeRequests: number;
  /** The id the hub gave this connection (Slime-Agent-Id), once connected. */
  readonly hubAgentId: string | undefined;
  /** Graceful: GOAWAY to the hub, finish in-flight calls, disconnect. */
  close(): Promise<void>;
  destroy(err?: Error): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Creates an agent for one upstream. It dials out to the hub, announces `numWorker` slots and
 * pulls requests; each is forwarded to the upstream with undici and streamed back.
 *
 * @example
 * ```ts
 * const agent = createAgent({ token, hub: 'http://hub:8080', upstream: '127.0.0.1:9000', numWorker: 2 });
 * agent.start();
 * await agent.ready();
 * ```
 */
export function createAgent(options: AgentOptions): Agent {
  validateAgentOptions(options);
  const url = hubUrl(options.hub);
  const target = upstreamTarget(options.upstream);
  const slots = options.numWorker ?? 1;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const baseMs = options.reconnectBaseMs ?? 500;
  const maxMs = options.reconnectMaxMs ?? 30_000;
  const heartbeatMs = options.heartbeatIntervalMs ?? 5_000;
  const log = (options.logger ?? pino({ level: 'silent' })).child({
    upstream: target.label,
    ...(options.agentId ? { agentId: options.agentId } : {}),
  });
  const pool = new Pool(target.origin, { connections: slots, pipelining: 1 });
  const callDeps = {
    pool,
    target,
    preserveHost: options.preserveHost ?? false,
    headersTimeoutMs: options.upstreamHeadersTimeoutMs ?? 300_000,
    bodyTimeoutMs: options.upstreamBodyTimeoutMs ?? 300_000,
    log,
    now,
    ...(options.onCallResult ? { onResult: options.onCallResult } : {}),
  };
  const hello = {
    slots,
    streamWindow: options.streamWindow ?? DEFAULT_STREAM_WINDOW,
    name: options.name ?? '',
    agentId: options.agentId ?? '',
    upstream: target.label,
    software: `slime-ts/${VERSION}`,
    hardware: options.reportHardware ? hardwareInfo() : '',
  };

  const emitter = new EventEmitter();
  let state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  let ws: WebSocket | null = null;
  let session: Session | null = null;
  let active = 0;
  let attempt = 0;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lastLoggedAttempt = -1;
  let readyResolve: () => void = () => {};
  let readyReject: (e: Error) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  readyPromise.catch(() => {});
  let closePromise: Promise<void> | null = null;
  let idle: (() => void) | null = null;

  function freeSlots(): number {
    return Math.max(0, slots - active);
  }

  function callFinished(owner: Session, call: UpstreamCall): void {
    active--;
    owner.callEnded(call);
    // Calls of an older session returned no credit to the current one: grant it explicitly.
    if (owner !== session) session?.credit(1);
    if (active === 0) idle?.();
    emitter.emit('callFinished');
  }

  function connect(): void {
    if (state !== 'running') return;
    const socket = new WebSocket(url, {
      headers: { authorization: `Bearer ${options.token}` },
      perMessageDeflate: false,
      maxPayload: Limits.MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
    });
    ws = socket;
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) {
        const err = new AgentError('ERR_AGENT_UNAUTHORIZED', `hub refused the agent token (HTTP ${status})`);
        log.error({ status }, 'hub refused the agent token; stopping');
        readyReject(err);
        emitter.emit('fatal', err);
        socket.terminate();
        shutdown();
        return;
      }
      log.warn({ status }, 'hub answered the upgrade with an error');
      socket.terminate();
    });
    socket.on('error', (err) => {
      if (attempt !== lastLoggedAttempt) {
        lastLoggedAttempt = attempt;
        log.warn({ err: err.message, attempt }, 'cannot reach the hub');
      }
    });
    socket.on('open', () => {
      session = new Session(socket, {
        hello,
        log,
        now,
        heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000,
        freeSlots,
        startCall: (owner, frame) => {
          if (active >= slots || state !== 'running') return undefined;
          active++;
          return new UpstreamCall(
            {
              send: (b) => owner.send(b),
              get congested() {
                return owner.congested;
              },
              waitForDrain: (c) => owner.waitForDrain(c),
              hubWindow: owner.hubWindow,
              agentWindow: owner.agentWindow,
              finished: (c) => callFinished(owner, c),
            },
            frame,
            callDeps,
          );
        },
        onWelcome: (_s, agentId) => {
          attempt = 0;
          log.info({ hubAgentId: agentId, slots }, 'connected to hub');
          emitter.emit('connected', agentId);
          readyResolve();
        },
        onDrained: (s) => s.close(CloseCode.NORMAL, 'drained after GOAWAY'),
      });
    });
    socket.on('close', (code, reason) => {
      const owner = session;
      if (owner && ws === socket) {
        session = null;
        owner.lost();
      }
      if (ws === socket) ws = null;
      emitter.emit('disconnected', code, reason.toString());
      if (state === 'running') {
        const delay = backoffDelay(attempt++, baseMs, maxMs, random);
        log.info({ code, reason: reason.toString(), delayMs: delay }, 'disconnected from hub; reconnecting');
        reconnectTimer = setTimeout(connect, delay);
      }
    });
  }

  function shutdown(): void {
    state = 'closed';
    if (reconnectTimer) clearTimeout(reconnectTimer);
    if (heartbeat) clearInterval(heartbeat);
    ws?.terminate();
    session?.lost();
    void pool.close().catch(() => {});
  }

  const methods = {
    start() {
      if (state !== 'new') return;
      state = 'running';
      heartbeat = setInterval(() => session?.tick(now()), heartbeatMs);
      heartbeat.unref();
      connect();
    },
    ready: () => readyPromise,
    get connected() {
      return session?.ready ?? false;
    },
    get activeRequests() {
      return active;
    },
    get hubAgentId() {
      return session?.hubAgentId || undefined;
    },
    close(): Promise<void> {
      closePromise ??= (async () => {
        if (state === 'closed' || state === 'new') {
          shutdown();
          return;
        }
        state = 'closing';
        if (reconnectTimer) clearTimeout(reconnectTimer);
        readyReject(new AgentError('ERR_AGENT_CLOSED', 'agent closed'));
        session?.goaway('agent shutting down');
        if (active > 0) {
          await new Promise<void>((resolve) => {
            idle = resolve;
          });
        }
        const socket = ws;
        if (socket && socket.readyState === WebSocket.OPEN) {
          session?.close(CloseCode.NORMAL, 'agent shut down');
          await once(socket, 'close');
        }
        shutdown();
        await pool.close().catch(() => {});
      })();
      return closePromise;
    },
    destroy(err?: Error) {
      if (err) log.error({ err }, 'agent destroyed');
      readyReject(err ?? new AgentError('ERR_AGENT_CLOSED', 'agent destroyed'));
      shutdown();
    },
    [Symbol.asyncDispose]() {
      return methods.close();
    },
  };
  // defineProperties (not Object.assign) keeps the getters live instead of copying their values.
  return Object.defineProperties(emitter, Object.getOwnPropertyDescriptors(methods)) as Agent;
}
