import {
  type AgentClaims,
  CloseCode,
  type CloseCodeValue,
  type Corkable,
  closeCodeFor,
  closeReason,
  DEFAULT_CONNECTION_WINDOW_GROWTH,
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameWriter,
  GoawayCode,
  grantCredits,
  type HelloFrame,
  MIN_STREAM_WINDOW,
  negotiateVersion,
  nextStreamId,
  ProtocolError,
  ResetCode,
  SUPPORTED_VERSIONS,
  spendCredit,
  UPGRADE_VERSION,
  WindowBudget,
} from '@slime/protocol';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { HubError } from '../errors.js';
import type { AgentStream } from '../streams/agent-stream.js';
import { type CloseOutcome, HubStream, type StreamHost } from '../streams/hub-stream.js';
import { withTrailerHeaders } from '../streams/trailers.js';
import { type UpgradeHost, UpgradeStream } from '../streams/upgrade-stream.js';
import type {
  AgentSnapshot,
  ConnectionOptions,
  ConnectionState,
  OpenStreamRequest,
} from './connection-types.js';
import { heartbeatDue, pingPhaseMs } from './heartbeat.js';
import { rawDataPath } from './raw-data-path.js';

export type {
  AgentSnapshot,
  ConnectionOptions,
  ConnectionState,
  OpenStreamRequest,
} from './connection-types.js';

// Above this many unflushed bytes on the WebSocket, streams stop reading their sources.
const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;
/** Connections made by this process, for spreading first pings (pingPhaseMs). */
let connectionCount = 0;
// One broken response may be a bug; this many on one connection is an agent not to be trusted.
const MAX_FRAMING_VIOLATIONS = 3;

/**
 * The hub's end of one agent WebSocket: the HELLO handshake, credits, the streams multiplexed on
 * it, heartbeats and shutdown. Only frames travel here; HTTP belongs to the hub.
 */
export class AgentConnection implements StreamHost, UpgradeHost {
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
  credits = 0;
  /** The protocol version agreed in HELLO/WELCOME (0 before); 3 and later carry upgrades and trailers. */
  version = 0;
  /** Sequence of the last dispatch to this agent, for least-recently-used tie breaking. */
  lastPick = 0;
  /**
   * The agent refused a stream (no free slot: its slots are shared with other hubs): offer it
   * nothing until its next CREDIT, even with credits left, so a full agent is not tried in a loop.
   */
  #paused = false;
  #hello: HelloFrame | null = null;
  #state: ConnectionState = 'hello';
  #ws: WebSocket;
  #opts: ConnectionOptions;
  #streams = new Map<number, AgentStream>();
  #lastStreamId = 0;
  #framingViolations = 0;
  #upgraded = 0;
  #upstreamHealthy = true;
  #upstreamReason = '';
  readonly #budget: FrameWriter<AgentStream>;
  #lastSeen: number;
  #lastPing: number;
  readonly log: Logger;

  constructor(ws: WebSocket, opts: ConnectionOptions) {
    this.#ws = ws;
    this.#budget = new FrameWriter<AgentStream>({
      send: (bytes, done) => ws.send(bytes, { binary: true }, done),
      // ws keeps its net.Socket private; corking it is what batches our frames
      socket: (ws as unknown as { _socket?: Corkable })._socket,
      schedule: setImmediate,
      highWater: HIGH_WATER,
      lowWater: LOW_WATER,
      raw: rawDataPath(ws, false),
    });
    this.#opts = opts;
    this.id = opts.id;
    this.claims = opts.claims;
    this.scopes = new Set(opts.claims.scopes ?? []);
    this.scopePaths = opts.claims.scopePaths?.length ? new Set(opts.claims.scopePaths) : null;
    this.remoteAddress = opts.remoteAddress;
    this.hubWindow = opts.hubWindow;
    this.since = opts.now();
    this.#lastSeen = this.since;
    // The first ping comes somewhere within the first interval, not for every new agent at once.
    this.#lastPing = this.since - opts.heartbeatMs + pingPhaseMs(++connectionCount, opts.heartbeatMs);
    this.log = opts.log;
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    const seen = () => {
      this.#lastSeen = this.#opts.now();
    };
    ws.on('pong', seen);
    ws.on('ping', seen);
    ws.on('close', (code, reason) => this.#onClose(code, reason.toString()));
    ws.on('error', (err) => this.log.warn({ err: err.message }, 'agent socket error'));
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** Streams holding a worker slot: upgraded streams (tunnels) hold none after their 101. */
  get inFlight(): number {
    return this.#streams.size - this.#upgraded;
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
    return this.#state === 'ready' && this.credits > 0 && !this.#paused && this.#upstreamHealthy;
  }

  /** Whether the agent's upstream answers, as its last STATUS said (true until one says otherwise). */
  get upstreamHealthy(): boolean {
    return this.#upstreamHealthy;
  }

  /** Refused a stream and has not granted a credit since. */
  get paused(): boolean {
    return this.#paused;
  }

  get congested(): boolean {
    return this.#budget.congested;
  }

  now(): number {
    return this.#opts.now();
  }

  /** Whether this agent may serve a request for `scope` (Slime-Scope) and `path`. */
  serves(scope: string | undefined, path: string): boolean {
    if (scope !== undefined && !this.scopes.has(scope)) return false;
    return this.scopePaths === null || this.scopePaths.has(path);
  }

  send(bytes: Uint8Array): void {
    if (this.#state === 'closed') return;
    const n = bytes.byteLength;
    this.#opts.onBytes?.('to_agent', n);
    this.#budget.write(bytes);
  }

  /** One DATA frame, its payload written as it is (no copy into a frame). */
  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void {
    if (this.#state === 'closed') return;
    const n = this.#budget.writeData(streamId, chunks, length);
    this.#opts.onBytes?.('to_agent', n);
  }

  /** Writes what is held back now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#budget.flush();
  }

  waitForDrain(stream: AgentStream): void {
    this.#budget.wait(stream);
  }

  framingViolation(stream: HubStream, problem: string): void {
    this.#framingViolations++;
    this.log.warn(
      { streamId: stream.id, problem, violations: this.#framingViolations },
      'agent broke a response framing; stream reset and client connection closed',
    );
    this.#opts.onFramingViolation?.(this, problem);
    if (this.#framingViolations >= MAX_FRAMING_VIOLATIONS) {
      this.close(CloseCode.PROTOCOL_ERROR, `${this.#framingViolations} response framing violations`);
    }
  }

  /** Opens a stream for one request, spending one credit. The caller checked `accepting`. */
  openStream(request: OpenStreamRequest): HubStream | UpgradeStream {
    const id = nextStreamId(this.#lastStreamId);
    const v3 = this.version >= UPGRADE_VERSION;
    if (request.upgrade && !v3) {
      throw new HubError('ERR_HUB_UPGRADE_UNSUPPORTED', `agent ${this.id} speaks no upgraded streams`);
    }
    let head: Uint8Array;
    try {
      head = encodeFrame({
        type: 'REQUEST',
        streamId: id,
        endStream: request.body === null && !request.upgrade,
        ...(request.upgrade ? { upgrade: true as const } : {}),
        method: request.method,
        target: request.target,
        headers: !v3
          ? request.headers
          : request.upgrade
            ? [...request.headers, ['upgrade', request.upgrade.protocols]]
            : withTrailerHeaders(request.headers, request.req),
      });
    } catch (err) {
      // Only our limits can fail here (too many or too large headers): the client's fault.
      throw new HubError('ERR_HUB_BAD_REQUEST', `request cannot be forwarded: ${(err as Error).message}`);
    }
    this.credits = spendCredit(this.credits);
    this.#lastStreamId = id;
    const stream = request.upgrade
      ? new UpgradeStream(this, id, { ...request, upgrade: request.upgrade })
      : new HubStream(this, id, request);
    this.#streams.set(id, stream);
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
    const had = this.#streams.delete(stream.id);
    this.#budget.forget(stream);
    // A refusal keeps the credit spent: the agent re-grants when it has a slot for us.
    if (outcome === 'refused') this.#paused = true;
    if (outcome === 'returned') this.#creditReturned();
    if (outcome === 'detached' && had) this.#upgraded--;
  }

  #creditReturned(): void {
    if (this.#state === 'ready') {
      try {
        this.credits = grantCredits(this.credits, 1);
      } catch (err) {
        // The agent granted more than the protocol allows; the stream's own close must still
        // finish (its client answered, its dispatch slot freed) before the connection goes.
        queueMicrotask(() => this.close(closeCodeFor(err as ProtocolError), (err as Error).message));
        return;
      }
      this.#opts.onCapacity(this);
    }
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#lastSeen = this.#opts.now();
    this.#opts.onBytes?.('from_agent', data.byteLength);
    if (this.#state === 'closed') return;
    try {
      if (!isBinary)
        throw new ProtocolError('ERR_PROTOCOL_BAD_VALUE', 'text message on the agent connection');
      this.#onFrame(decodeFrame(data));
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.log.warn(
          { code: err.code, err: err.message },
          'protocol error from agent; closing its connection',
        );
        this.close(closeCodeFor(err), err.message);
      } else if (err instanceof HubError) {
        this.log.warn({ err: err.message }, 'agent broke stream rules; closing its connection');
        this.close(CloseCode.PROTOCOL_ERROR, err.message);
      } else {
        this.log.error({ err }, 'failed to handle a frame from an agent');
        this.close(CloseCode.PROTOCOL_ERROR, 'internal error handling a frame');
      }
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#state === 'hello') {
      if (frame.type !== 'HELLO')
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} before HELLO`);
      this.#onHello(frame);
      return;
    }
    switch (frame.type) {
      case 'CREDIT':
        if (this.#state !== 'ready') return;
        this.credits = grantCredits(this.credits, frame.count);
        this.#paused = false;
        this.#opts.onCapacity(this);
        return;
      case 'STATUS':
        if (frame.upstreamHealthy === this.#upstreamHealthy) return;
        this.#upstreamHealthy = frame.upstreamHealthy;
        this.#upstreamReason = frame.reason;
        this.log[frame.upstreamHealthy ? 'info' : 'warn'](
          { reason: frame.reason },
          frame.upstreamHealthy
            ? 'agent upstream healthy again'
            : 'agent upstream unhealthy; not dispatching to it',
        );
        this.#opts.onUpstreamHealth?.(this, frame.upstreamHealthy);
        if (frame.upstreamHealthy) this.#opts.onCapacity(this);
        return;
      case 'GOAWAY':
        this.log.info({ message: frame.message }, 'agent draining');
        this.#state = 'draining';
        this.credits = 0;
        return;
      case 'RESPONSE':
      case 'DATA':
      case 'END':
      case 'TRAILERS':
      case 'WINDOW':
      case 'RESET': {
        const stream = this.#streams.get(frame.streamId);
        if (!stream) {
          // Late frames for closed streams crossed our RESET; ids we never opened are a violation.
          if (frame.streamId > this.#lastStreamId) {
            throw new ProtocolError(
              'ERR_PROTOCOL_BAD_STREAM_ID',
              `${frame.type} for unopened stream ${frame.streamId}`,
            );
          }
          return;
        }
        if (frame.type === 'RESPONSE') stream.onResponse(frame);
        else if (frame.type === 'DATA') stream.onData(frame);
        else if (frame.type === 'END') stream.onEnd();
        else if (frame.type === 'TRAILERS') stream.onTrailers(frame);
        else if (frame.type === 'WINDOW') stream.onWindow(frame.increment);
        else stream.onReset(frame);
        return;
      }
      default:
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} is not sent by agents`);
    }
  }

  #onHello(hello: HelloFrame): void {
    const version = negotiateVersion(SUPPORTED_VERSIONS, { min: hello.minVersion, max: hello.maxVersion });
    if (hello.streamWindow < MIN_STREAM_WINDOW) {
      // a tiny window would turn every body into a WINDOW ping-pong
      throw new ProtocolError(
        'ERR_PROTOCOL_BAD_VALUE',
        `streamWindow ${hello.streamWindow} is below ${MIN_STREAM_WINDOW}`,
      );
    }
    this.#hello = hello;
    this.version = version;
    this.agentWindow = hello.streamWindow;
    this.#state = 'ready';
    this.send(
      encodeFrame({
        type: 'WELCOME',
        streamId: 0,
        version,
        streamWindow: this.hubWindow,
        heartbeatMs: this.#opts.heartbeatMs,
        agentId: this.id,
      }),
    );
    this.log.info(
      { name: this.name, slots: hello.slots, upstream: hello.upstream, version },
      'agent connected',
    );
  }

  /** Heartbeat and timeouts; the hub calls this on one shared interval for all agents. */
  tick(now: number): void {
    if (this.#state === 'closed') return;
    if (this.#state === 'hello' && now - this.since > this.#opts.helloTimeoutMs) {
      this.close(CloseCode.HELLO_TIMEOUT, 'no HELLO in time');
      return;
    }
    const due = heartbeatDue(now, this.#lastSeen, this.#lastPing, this.#opts);
    if (due === 'drop') {
      this.log.warn({ silentMs: now - this.#lastSeen }, 'agent missed heartbeats; dropping it');
      this.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
      return;
    }
    if (due === 'ping') {
      this.#lastPing = now;
      this.#ws.ping();
    }
    for (const stream of this.#streams.values()) {
      if (stream.state === 'open' && now - stream.lastActivity > this.#opts.streamIdleTimeoutMs) {
        stream.cancel('stream idle timeout', ResetCode.IDLE_TIMEOUT);
      }
    }
  }

  /** Asks the agent to drain: no new streams will come. */
  goaway(message: string): void {
    if (this.#state === 'closed') return;
    this.send(encodeFrame({ type: 'GOAWAY', streamId: 0, code: GoawayCode.DRAIN, message }));
    if (this.#state !== 'hello') this.#state = 'draining';
    this.credits = 0;
  }

  close(code: CloseCodeValue, reason: string): void {
    if (this.#state === 'closed') return;
    this.#ws.close(code, closeReason(reason));
    // the close frame goes out now: a terminate may follow within this turn (hub shutdown)
    this.flush();
    // The close handshake can hang on a frozen peer; the socket goes away regardless.
    const timer = setTimeout(() => this.#ws.terminate(), 2000);
    timer.unref();
    this.#onClose(code, reason);
  }

  terminate(code: CloseCodeValue, reason: string): void {
    if (this.#state === 'closed') return;
    this.flush();
    this.#ws.terminate();
    this.#onClose(code, reason);
  }

  #onClose(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.credits = 0;
    const streams = [...this.#streams.values()];
    this.#streams.clear();
    this.#upgraded = 0;
    this.#budget.clear();
    for (const s of streams) s.agentLost(reason || `closed with code ${code}`);
    this.log.info({ code, reason, streams: streams.length }, 'agent disconnected');
    this.#opts.onClosed(this, code, reason);
  }

  snapshot(): AgentSnapshot {
    let hardware: unknown = null;
    if (this.#hello?.hardware) {
      try {
        hardware = JSON.parse(this.#hello.hardware);
      } catch {
        hardware = this.#hello.hardware;
      }
    }
    return {
      id: this.id,
      name: this.name,
      jti: this.claims.jti,
      scopes: [...this.scopes],
      scopePaths: this.scopePaths ? [...this.scopePaths] : [],
      slots: this.#hello?.slots ?? 0,
      credits: this.credits,
      inFlight: this.inFlight,
      upgradedStreams: this.#upgraded,
      state: this.#state,
      upstream: this.#hello?.upstream ?? '',
      software: this.#hello?.software ?? '',
      hardware,
      remoteAddress: this.remoteAddress,
      since: this.since,
      framingViolations: this.#framingViolations,
      upstreamHealthy: this.#upstreamHealthy,
      upstreamReason: this.#upstreamReason,
    };
  }
}
