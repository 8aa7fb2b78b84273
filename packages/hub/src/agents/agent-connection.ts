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
  type MuxHandler,
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
import { type AgentHealth, connectionHealth } from './agent-health.js';
import { logConnected, welcome } from './agent-hello.js';
import { scopesOf, servesRequest } from './agent-identity.js';
import { connectionSnapshot } from './agent-snapshot.js';
import { createStream, deliver, isAgentStreamFrame, requestHead } from './agent-streams.js';
import type {
  AgentSnapshot,
  ConnectionOptions,
  ConnectionState,
  OpenStreamRequest,
} from './connection-types.js';
import { tickConnection } from './heartbeat.js';

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
  agentWindow = 0;
  /** The protocol version agreed in HELLO/WELCOME (0 before); 3 and later carry upgrades and trailers. */
  version = 0;
  /** Sequence of the last dispatch to this agent, for least-recently-used tie breaking. */
  lastPick = 0;
  readonly #credits = new AgentCredits();
  #hello: HelloFrame | null = null;
  protected readonly mux: MuxEndpoint<AgentStream>;
  readonly #opts: ConnectionOptions;
  // Made when first needed: an idle agent never needs them (10,000 idle agents: bench scenario 4).
  #log: Logger | null = null;
  #windowBudget: WindowBudget | null = null;
  #health: AgentHealth | null = null;
  #upgraded = 0;
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
    this.clock = opts.now; // called without a receiver everywhere (the endpoint's timers too)
    this.mux = agentEndpoint(ws, opts, this.since, new AgentConnection.#Handler(this));
  }

  /** The endpoint's handler: one small object per connection instead of a closure per event. */
  static readonly #Handler = class implements MuxHandler<AgentStream> {
    readonly #conn: AgentConnection;
    constructor(conn: AgentConnection) {
      this.#conn = conn;
    }
    onFrame(frame: Frame): void {
      this.#conn.#onFrame(frame);
    }
    onFrameError(err: unknown): string {
      return this.#conn.#agentHealth.frameError(err);
    }
    onClosed(code: number, reason: string, streams: AgentStream[]): void {
      this.#conn.#onClosed(code, reason, streams);
    }
    onSocketError(err: Error): void {
      this.#conn.log.warn({ err: err.message }, 'agent socket error');
    }
  };

  /** This connection's logger (`agent` bound to its id when the hub asked for `childLog`). */
  get log(): Logger {
    this.#log ??= this.#opts.childLog ? this.#opts.log.child({ agent: this.id }) : this.#opts.log;
    return this.#log;
  }

  /** Response windows of all streams here grow within this budget (auto-tuning, §11). */
  get windowBudget(): WindowBudget {
    this.#windowBudget ??= new WindowBudget(DEFAULT_CONNECTION_WINDOW_GROWTH);
    return this.#windowBudget;
  }

  get #agentHealth(): AgentHealth {
    this.#health ??= connectionHealth(this, this.#opts);
    return this.#health;
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
    return this.state === 'ready' && credits.count > 0 && !credits.paused && this.upstreamHealthy;
  }

  /** Whether the agent's upstream answers, as its last STATUS said (true until one says otherwise). */
  get upstreamHealthy(): boolean {
    return this.#health === null || this.#health.upstreamHealthy;
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
    const health = this.#agentHealth;
    if (health.framingViolation(stream.id, problem)) {
      this.close(CloseCode.PROTOCOL_ERROR, `${health.framingViolations} response framing violations`);
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
        // a healthy STATUS while nothing was ever unhealthy changes nothing (no state needed)
        if (this.#health !== null || !frame.upstreamHealthy)
          this.#agentHealth.status(frame.upstreamHealthy, frame.reason);
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
    const viaHub = this.#log === null && this.#opts.childLog === true;
    logConnected(viaHub ? this.#opts.log : this.log, viaHub ? this.id : undefined, this, hello);
  }

  /** Heartbeat and timeouts; the hub calls this on one shared interval for all agents. */
  tick(now: number): void {
    tickConnection(this, this.mux, now, this.#opts);
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
    return connectionSnapshot(this, this.#hello, this.#health);
  }
}
