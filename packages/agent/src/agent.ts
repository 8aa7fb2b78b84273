import { EventEmitter } from 'node:events';
import { DEFAULT_STREAM_WINDOW } from '@slime/protocol';
import { pino } from 'pino';
import type { Agent } from './agent-types.js';
import { AgentError } from './errors.js';
import { h2cConnector } from './h2c-session.js';
import { hardwareReport } from './hardware.js';
import { upstreamProbe } from './health-probe.js';
import { HubLink } from './hub-link.js';
import { type AgentOptions, hubList, upstreamTarget, validateAgentOptions } from './options.js';
import type { Session } from './session.js';
import { SlotPool } from './slot-pool.js';
import { callStarter } from './start-call.js';
import { startUpgrade } from './start-upgrade.js';
import type { StreamCall } from './stream-call.js';
import { UpstreamConnections } from './upstream-connections.js';
import { UpstreamHealth } from './upstream-health.js';
import { tracedCallDeps } from './upstream-tracing.js';

const VERSION = '0.1.0';

export type { Agent } from './agent-types.js';

/**
 * Creates an agent for one upstream. It dials out to each hub, offers its `numWorker` slots and
 * pulls requests; each is forwarded to the upstream with undici and streamed back. With several
 * hubs the slots are shared: the upstream never sees more than `numWorker` requests at once, and
 * a REQUEST that finds no free slot is handed back to its hub (RESET REFUSED) to run elsewhere.
 *
 * When a call finds the upstream unreachable, the agent withdraws its slots (no CREDIT, every
 * REQUEST refused so the hub runs it elsewhere), tells each hub (STATUS, protocol version 2) and
 * probes the upstream (`healthPath`, `healthIntervalMs`) until it answers, then offers the slots
 * again.
 *
 * Events: `connected` (hubAgentId, hubUrl), `disconnected` (code, reason, hubUrl), `refused`
 * (hubUrl), `callFinished`, `upstreamUnhealthy` (reason), `upstreamProbeFailed` (failures so far),
 * `upstreamHealthy`, `fatal` (error).
 *
 * @example
 * ```ts
 * const agent = createAgent({ token, hub: ['http://hub1:8080', 'http://hub2:8080'], upstream: '127.0.0.1:9000', numWorker: 2 });
 * agent.start();
 * await agent.ready();
 * ```
 */
export function createAgent(options: AgentOptions): Agent {
  validateAgentOptions(options);
  const urls = hubList(options.hub);
  const target = upstreamTarget(options.upstream);
  const slots = options.numWorker ?? 1;
  const now = options.now ?? Date.now;
  const heartbeatMs = options.heartbeatIntervalMs ?? 5_000;
  const log = (options.logger ?? pino({ level: 'silent' })).child({
    upstream: target.label,
    ...(options.agentId ? { agentId: options.agentId } : {}),
  });
  const upstreamPool = new UpstreamConnections({
    origin: target.origin,
    size: slots,
    ...(target.h2c ? { connect: h2cConnector() } : {}),
  });
  const random = options.random ?? Math.random;
  const healthIntervalMs = options.healthIntervalMs ?? 2_000;
  const health = new UpstreamHealth({
    probe: upstreamProbe(target, options.healthPath),
    intervalMs: healthIntervalMs,
    maxIntervalMs: Math.max(healthIntervalMs, options.healthMaxIntervalMs ?? 30_000),
    random,
    now,
    onChange: (healthy, reason) => upstreamChanged(healthy, reason),
    onProbeFailed: (reason, failures, nextDelayMs) => {
      log.debug({ reason, failures, nextDelayMs }, 'upstream still down');
      emitter.emit('upstreamProbeFailed', failures);
    },
  });
  const callDeps = {
    connections: upstreamPool,
    target,
    preserveHost: options.preserveHost ?? false,
    headersTimeoutMs: options.upstreamHeadersTimeoutMs ?? 300_000,
    bodyTimeoutMs: options.upstreamBodyTimeoutMs ?? 300_000,
    log,
    now,
    onUpstreamDown: (reason: string) => health.markUnhealthy(reason),
    ...(options.onCallResult ? { onResult: options.onCallResult } : {}),
  };
  const hello = {
    slots,
    streamWindow: options.streamWindow ?? DEFAULT_STREAM_WINDOW,
    name: options.name ?? '',
    agentId: options.agentId ?? '',
    upstream: target.label,
    software: `slime-ts/${VERSION}`,
    // filled in by start(), which runs nvidia-smi before the first connect
    hardware: '',
  };

  const emitter = new EventEmitter();
  const slotPool = new SlotPool(slots);
  let state: 'new' | 'running' | 'closing' | 'closed' = 'new';
  let heartbeat: NodeJS.Timeout | undefined;
  let readyResolve: () => void = () => {};
  let readyReject: (e: Error) => void = () => {};
  const readyPromise = new Promise<void>((resolve, reject) => {
    readyResolve = resolve;
    readyReject = reject;
  });
  readyPromise.catch(() => {});
  let closePromise: Promise<void> | null = null;
  let idle: (() => void) | null = null;

  /** Every session the hubs welcomed, for STATUS. */
  function sessions(): Session[] {
    const out: Session[] = [];
    for (const link of links) if (link.session?.ready) out.push(link.session);
    return out;
  }

  function upstreamChanged(healthy: boolean, reason: string): void {
    if (healthy) {
      log.info('upstream answers again; offering its slots');
      // STATUS first, so the hub sees the CREDIT that follows as a healthy agent's
      for (const s of sessions()) s.reportUpstream(true, '');
      if (state === 'running') slotPool.offer();
      emitter.emit('upstreamHealthy');
    } else {
      log.warn({ reason, healthIntervalMs }, 'upstream unreachable; withdrawing slots until it answers');
      slotPool.withdraw();
      for (const s of sessions()) s.reportUpstream(false, reason);
      emitter.emit('upstreamUnhealthy', reason);
    }
  }

  /** Takes a slot for a REQUEST; returns why not when it cannot (the REQUEST is refused). */
  function takeSlot(): string | undefined {
    if (state !== 'running') return 'agent draining';
    if (!health.healthy) return `upstream unhealthy: ${health.reason}`;
    return slotPool.tryAcquire() ? undefined : 'no free slot';
  }

  // An upgrade frees its slot at the 101 (slotFreed) and leaves its session at the tunnel's end.
  const upgradeSlots = {
    slotFreed: (owner: Session, call: StreamCall) => callFinished(owner, call, false),
    ended: (owner: Session, call: StreamCall) => owner.callEnded(call),
  };

  function callFinished(owner: Session, call: StreamCall, leaves = true): void {
    if (leaves) owner.callEnded(call);
    slotPool.release();
    if (slotPool.active === 0) idle?.();
    // The freed slot is offered to every hub (a lost session's slot included).
    if (state === 'running') slotPool.rebalance();
    emitter.emit('callFinished');
  }

  const startCall = callStarter((owner, call) => callFinished(owner, call));

  const links = urls.map((url) => {
    const linkLog = urls.length > 1 ? log.child({ hub: url.host }) : log;
    const link: HubLink = new HubLink({
      url,
      token: options.token,
      hello,
      log: linkLog,
      now,
      random,
      baseMs: options.reconnectBaseMs ?? 500,
      maxMs: options.reconnectMaxMs ?? 30_000,
      heartbeatTimeoutMs: options.heartbeatTimeoutMs ?? 15_000,
      tls: options.hubTls,
      running: () => state === 'running',
      startCall: (owner, frame) => {
        // The slot is taken before anything touches the upstream or reads the body.
        const refusal = takeSlot();
        if (refusal !== undefined) {
          emitter.emit('refused', url.href);
          return refusal;
        }
        if (frame.upgrade) return startUpgrade(owner, frame, callDeps, upgradeSlots);
        const deps = options.tracer
          ? tracedCallDeps(options.tracer, frame, callDeps, target.label)
          : callDeps;
        return startCall(owner, frame, deps);
      },
      onWelcome: (session, agentId) => {
        if (state !== 'running') {
          // connected while closing: take no work on it
          session.goaway('agent shutting down');
          return;
        }
        linkLog.info({ hubAgentId: agentId, slots }, 'connected to hub');
        slotPool.attach(session);
        // While the upstream is down the hub gets a STATUS instead of credits.
        if (!health.healthy) session.reportUpstream(false, health.reason);
        slotPool.rebalance();
        emitter.emit('connected', agentId, url.href);
        readyResolve();
      },
      onSessionGone: (session) => slotPool.detach(session),
      onFatal: (err) => {
        readyReject(err);
        emitter.emit('fatal', err);
        shutdown();
      },
      onDisconnected: (code, reason) => emitter.emit('disconnected', code, reason, url.href),
    });
    return link;
  });

  function shutdown(): void {
    state = 'closed';
    if (heartbeat) clearInterval(heartbeat);
    health.close();
    for (const link of links) link.stop();
    void upstreamPool.close();
  }

  const methods = {
    start() {
      if (state !== 'new') return;
      state = 'running';
      heartbeat = setInterval(() => {
        const t = now();
        for (const link of links) link.tick(t);
      }, heartbeatMs);
      heartbeat.unref();
      if (!options.reportHardware) {
        for (const link of links) link.connect();
        return;
      }
      // Once per agent: every (re)connect sends the same HELLO. hardwareReport never rejects and
      // gives up on nvidia-smi after 3 s, so the first connect waits at most that long.
      void hardwareReport(options.gpuQuery ? { gpuQuery: options.gpuQuery } : {}).then((text) => {
        hello.hardware = text;
        if (state === 'running') for (const link of links) link.connect();
      });
    },
    ready: () => readyPromise,
    get connected() {
      return links.some((l) => l.ready);
    },
    get connectedHubs() {
      return links.filter((l) => l.ready).length;
    },
    get activeRequests() {
      return slotPool.active;
    },
    get hubAgentId() {
      for (const link of links) if (link.ready && link.session?.hubAgentId) return link.session.hubAgentId;
      return undefined;
    },
    get upstreamHealthy() {
      return health.healthy;
    },
    close(): Promise<void> {
      closePromise ??= (async () => {
        if (state === 'closed' || state === 'new') {
          shutdown();
          return;
        }
        state = 'closing';
        readyReject(new AgentError('ERR_AGENT_CLOSED', 'agent closed'));
        for (const link of links) link.goaway('agent shutting down');
        if (slotPool.active > 0) {
          await new Promise<void>((resolve) => {
            idle = resolve;
          });
        }
        await Promise.all(links.map((l) => l.closeSocket()));
        shutdown();
        await upstreamPool.close();
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
