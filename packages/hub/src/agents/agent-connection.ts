import {
  type AgentClaims,
  CloseCode,
  type CloseCodeValue,
  closeCodeFor,
  DEFAULT_CONNECTION_WINDOW_GROWTH,
  encodeFrame,
  type Frame,
  GoawayCode,
  type HelloFrame,
  type MuxEndpoint,
  MuxPeer,
  ProtocolError,
  UPGRADE_VERSION,
  type WebSocketLike,
  WindowBudget,
} from '@slime/protocol';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import type { AgentStream } from '../streams/agent-stream.js';
import type { CloseOutcome, HubStream, StreamHost } from '../streams/hub-stream.js';
import type { UpgradeHost, UpgradeStream } from '../streams/upgrade-stream.js';
import { AgentCredits } from './agent-credits.js';
import { agentEndpoint } from './agent-endpoint.js';
import { AgentHealth } from './agent-health.js';
import { helloSnapshot, welcome } from './agent-hello.js';
import { identitySnapshot, scopesOf, servesRequest } from './agent-identity.js';
import { cancelIdle, createStream, deliver, isAgentStreamFrame, requestHead } from './agent-streams.js';
import type {
  AgentSnapshot,
  ConnectionOptions,
  ConnectionState,
  OpenStreamRequest,
} from './connection-types.js';

export type {
  AgentSnapshot,
  ConnectionOptions,
  ConnectionState,
  OpenStreamRequest,
} from './connection-types.js';

/**
 * The hub's end of one agent WebSocket: the HELLO handshake, credits and the streams it opens on
 * the multiplexed endpoint (which owns frames, the stream table, heartbeats and the close). Only
 * frames travel here; HTTP belongs to the hub.
 */
export class AgentConnection extends MuxPeer<AgentStream> implements StreamHost, UpgradeHost {
  readonly id: string;
  readonly claims: AgentClaims;
  readonly scopes: ReadonlySet<string>;
  readonly scopePaths: ReadonlySet<string> | null;
  readonly remoteAddress: string;
  readonly since: number;
  readonly hubWindow: number;
  /** Response windows of all streams here grow within this budget (auto-tuning, §11). */
  readonly windowBudget = new WindowBudget(DEFAULT_CONNECTION_WINDOW_GROWTH);
  agentWindow = 0;
  /** The protocol version agreed in HELLO/WELCOME (0 before); 3 and later carry upgrades and trailers. */
  version = 0;
  /** Sequence of the last dispatch to this agent, for least-recently-used tie breaking. */
  lastPick = 0;
  readonly #credits = new AgentCredits();
  #hello: HelloFrame | null = null;
  protected readonly mux: MuxEndpoint<AgentStream>;
  readonly #opts: ConnectionOptions;
  readonly #health: AgentHealth;
  #upgraded = 0;
  readonly log: Logger;
  /** The hub's clock, for the streams' receive windows (one function for all of them). */
  readonly clock: () => number;

  constructor(ws: WebSocketLike, opts: ConnectionOptions) {
    super();
    this.#opts = opts;
    this.id = opts.id;
    this.claims = opts.claims;
    ({ scopes: this.scopes, scopePaths: this.scopePaths } = scopesOf(opts.claims));
    this.remoteAddress = opts.remoteAddress;
    this.hubWindow = opts.hubWindow;
    this.since = opts.now();
    this.log = opts.log;
    this.clock = () => opts.now();
    this.#health = new AgentHealth(opts.log, {
      upstreamHealth: (healthy) => {
        opts.onUpstreamHealth?.(this, healthy);
        if (healthy) opts.onCapacity(this);
      },
      framingViolation: (problem) => opts.onFramingViolation?.(this, problem),
    });
    this.mux = agentEndpoint(ws, opts, this.since, {
      onFrame: (frame) => this.#onFrame(frame),
      onFrameError: (err) => this.#health.frameError(err),
      onClosed: (code, reason, streams) => this.#onClosed(code, reason, streams),
      onSocketError: (err) => this.log.warn({ err: err.message }, 'agent socket error'),
    });
  }

  /** Streams the agent takes now (its CREDITs, less the streams opened, plus those returned). */
  get credits(): number {
    return this.#credits.count;
  }

  get state(): ConnectionState {
    return this.mux.state;
  }

  /** Streams holding a worker slot: upgraded streams (tunnels) hold none after their 101. */
  get inFlight(): number {
    return this.mux.streams.size - this.#upgraded;
  }

  /** Upgraded streams (client WebSockets) open on this connection. */
  get upgradedStreams(): number {
    return this.#upgraded;
  }

  get name(): string {
    return this.claims.sub;
  }

  /** Whether the hub may open new streams here. */
  get accepting(): boolean {
    const credits = this.#credits;
    return this.state === 'ready' && credits.count > 0 && !credits.paused && this.#health.upstreamHealthy;
  }

  /** Whether the agent's upstream answers, as its last STATUS said (true until one says otherwise). */
  get upstreamHealthy(): boolean {
    return this.#health.upstreamHealthy;
  }

  /** Refused a stream and has not granted a credit since. */
  get paused(): boolean {
    return this.#credits.paused;
  }

  now(): number {
    return this.#opts.now();
  }

  /** Whether this agent may serve a request for `scope` (Slime-Scope) and `path`. */
  serves(scope: string | undefined, path: string): boolean {
    return servesRequest(this, scope, path);
  }

  framingViolation(stream: HubStream, problem: string): void {
    if (this.#health.framingViolation(stream.id, problem)) {
      this.close(CloseCode.PROTOCOL_ERROR, `${this.#health.framingViolations} response framing violations`);
    }
  }

  /** Opens a stream for one request, spending one credit. The caller checked `accepting`. */
  openStream(request: OpenStreamRequest): HubStream | UpgradeStream {
    const id = this.mux.streams.nextId();
    const v3 = this.version >= UPGRADE_VERSION;
    if (request.upgrade && !v3) {
      throw new HubError('ERR_HUB_UPGRADE_UNSUPPORTED', `agent ${this.id} speaks no upgraded streams`);
    }
    const head = requestHead(id, request, v3);
    this.#credits.spend();
    const stream = createStream(this, id, request);
    this.mux.streams.open(id, stream);
    this.send(head);
    stream.start();
    return stream;
  }

  /** An upgrade's 101 arrived: the agent freed the worker slot, so the credit returns now. */
  upgraded(_stream: AgentStream): void {
    this.#upgraded++;
    this.#creditReturned();
  }

  streamClosed(stream: AgentStream, outcome: CloseOutcome): void {
    const had = this.mux.forget(stream.id, stream);
    // A refusal keeps the credit spent: the agent re-grants when it has a slot for us.
    if (outcome === 'refused') this.#credits.refused();
    if (outcome === 'returned') this.#creditReturned();
    if (outcome === 'detached' && had) this.#upgraded--;
  }

  #creditReturned(): void {
    if (this.state !== 'ready') return;
    const err = this.#credits.returned();
    if (err === null) this.#opts.onCapacity(this);
    // The agent granted more than the protocol allows; the stream's own close must still
    // finish (its client answered, its dispatch slot freed) before the connection goes.
    else queueMicrotask(() => this.close(closeCodeFor(err), err.message));
  }

  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'HELLO':
        if (this.state !== 'hello') break;
        this.#onHello(frame);
        return;
      case 'CREDIT':
        if (this.state !== 'ready') return;
        this.#credits.grant(frame.count);
        this.#opts.onCapacity(this);
        return;
      case 'STATUS':
        this.#health.status(frame.upstreamHealthy, frame.reason);
        return;
      case 'GOAWAY':
        this.log.info({ message: frame.message }, 'agent draining');
        this.mux.enter('draining');
        this.#credits.clear();
        return;
      default:
        if (!isAgentStreamFrame(frame)) break;
        deliver(this.mux.streams.route(frame.type, frame.streamId), frame);
        return;
    }
    throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} is not sent by agents`);
  }

  #onHello(hello: HelloFrame): void {
    const { version, bytes } = welcome(hello, {
      agentId: this.id,
      streamWindow: this.hubWindow,
      heartbeatMs: this.#opts.heartbeatMs,
    });
    this.#hello = hello;
    this.version = version;
    this.agentWindow = hello.streamWindow;
    this.mux.enter('ready');
    this.send(bytes);
    this.log.info(
      { name: this.name, slots: hello.slots, upstream: hello.upstream, version },
      'agent connected',
    );
  }

  /** Heartbeat and timeouts; the hub calls this on one shared interval for all agents. */
  tick(now: number): void {
    const state = this.state;
    if (state === 'closed') return;
    if (state === 'hello' && now - this.since > this.#opts.helloTimeoutMs) {
      this.close(CloseCode.HELLO_TIMEOUT, 'no HELLO in time');
      return;
    }
    if (this.mux.heartbeat(now) === 'drop') {
      this.log.warn({ silentMs: now - this.mux.lastSeen }, 'agent missed heartbeats; dropping it');
      this.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      return;
    }
    cancelIdle(this.mux.streams.values(), now, this.#opts.streamIdleTimeoutMs);
  }

  /** Asks the agent to drain: no new streams will come. */
  goaway(message: string): void {
    if (this.state === 'closed') return;
    this.send(encodeFrame({ type: 'GOAWAY', streamId: 0, code: GoawayCode.DRAIN, message }));
    if (this.state !== 'hello') this.mux.enter('draining');
    this.#credits.clear();
  }

  close(code: CloseCodeValue, reason: string): void {
    this.mux.close(code, reason);
  }

  terminate(code: CloseCodeValue, reason: string): void {
    this.mux.terminate(code, reason);
  }

  #onClosed(code: number, reason: string, streams: AgentStream[]): void {
    this.#credits.clear();
    this.#upgraded = 0;
    for (const s of streams) s.agentLost(reason || `closed with code ${code}`);
    this.log.info({ code, reason, streams: streams.length }, 'agent disconnected');
    this.#opts.onClosed(this, code, reason);
  }

  snapshot(): AgentSnapshot {
    return {
      ...identitySnapshot(this),
      ...helloSnapshot(this.#hello),
      credits: this.credits,
      inFlight: this.inFlight,
      upgradedStreams: this.#upgraded,
      state: this.state,
      remoteAddress: this.remoteAddress,
      since: this.since,
      ...this.#health.snapshot(),
    };
  }
}
