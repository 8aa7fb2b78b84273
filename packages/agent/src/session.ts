import {
  assertNewStreamId,
  CloseCode,
  type Corkable,
  closeCodeFor,
  closeReason,
  DEFAULT_CONNECTION_WINDOW_GROWTH,
  DEFAULT_STREAM_WINDOW,
  decodeFrame,
  encodeFrame,
  type Frame,
  FrameWriter,
  GoawayCode,
  Limits,
  PROTOCOL_VERSION,
  ProtocolError,
  type RequestFrame,
  ResetCode,
  SUPPORTED_VERSIONS,
  UPGRADE_VERSION,
  WindowBudget,
} from '@slime/protocol';
import type { Logger } from 'pino';
import type WebSocket from 'ws';
import { rawDataPath } from './raw-data-path.js';
import type { CreditLink } from './slot-pool.js';
import type { StreamCall } from './stream-call.js';
import type { CallHost } from './upstream-call.js';

const HIGH_WATER = 1024 * 1024;
const LOW_WATER = 256 * 1024;

export interface SessionHello {
  slots: number;
  streamWindow: number;
  name: string;
  agentId: string;
  upstream: string;
  software: string;
  hardware: string;
}

export interface SessionDeps {
  hello: SessionHello;
  log: Logger;
  now: () => number;
  heartbeatTimeoutMs: number;
  /**
   * Starts an upstream call for a REQUEST, or returns why it cannot (no free slot, upstream
   * down, draining): the REQUEST is then refused.
   */
  startCall: (session: Session, frame: RequestFrame) => StreamCall | string;
  /** WELCOME arrived: the agent grants this session its first credits (a CREDIT follows). */
  onWelcome: (session: Session, agentId: string) => void;
  /** The hub asked us to go away (GOAWAY) and our streams are done. */
  onDrained: (session: Session) => void;
}

type State = 'hello' | 'ready' | 'draining' | 'closed';

/**
 * One connection to a hub: HELLO/WELCOME, the calls multiplexed on it, and an exact mirror of the
 * credits that hub holds (the SlotPool decides when to grant more).
 */
export class Session implements Omit<CallHost, 'finished' | 'waitForDrain'>, CreditLink {
  readonly #ws: WebSocket;
  readonly #deps: SessionDeps;
  readonly calls = new Map<number, StreamCall>();
  /** Calls whose upstream switched protocols: their credit went back with the 101. */
  readonly #switched = new Set<number>();
  #state: State = 'hello';
  #lastStreamId = 0;
  readonly #budget: FrameWriter<StreamCall>;
  #lastSeen: number;
  hubWindow = DEFAULT_STREAM_WINDOW;
  /** The hub takes interim (1xx) RESPONSE frames: it agreed on protocol version 2 or later. */
  interimResponses = false;
  /** The hub takes STATUS frames (upstream health): it agreed on protocol version 2 or later. */
  statusFrames = false;
  /** The hub agreed on protocol 3: TRAILERS both ways and UPGRADE streams. */
  trailers = false;
  readonly agentWindow: number;
  /** Request-body windows of all calls here grow within this budget (auto-tuning, §11). */
  readonly windowBudget = new WindowBudget(DEFAULT_CONNECTION_WINDOW_GROWTH);
  /** Hub-assigned id (Slime-Agent-Id). */
  hubAgentId = '';
  #held = 0;
  #paused = false;

  constructor(ws: WebSocket, deps: SessionDeps) {
    this.#ws = ws;
    this.#budget = new FrameWriter<StreamCall>({
      send: (bytes, done) => ws.send(bytes, { binary: true }, done),
      // ws keeps its net.Socket private; corking it is what batches our frames
      socket: (ws as unknown as { _socket?: Corkable })._socket,
      schedule: setImmediate,
      highWater: HIGH_WATER,
      lowWater: LOW_WATER,
      // a client masks: with a zero key, so payloads go out as they are
      raw: rawDataPath(ws, true),
    });
    this.#deps = deps;
    this.agentWindow = deps.hello.streamWindow;
    this.#lastSeen = deps.now();
    ws.on('message', (data, isBinary) => this.#onMessage(data as Buffer, isBinary));
    const seen = () => {
      this.#lastSeen = this.#deps.now();
    };
    ws.on('pong', seen);
    ws.on('ping', seen);
    this.send(
      encodeFrame({
        type: 'HELLO',
        streamId: 0,
        minVersion: SUPPORTED_VERSIONS.min,
        maxVersion: PROTOCOL_VERSION,
        ...deps.hello,
      }),
    );
  }

  get state(): State {
    return this.#state;
  }

  get ready(): boolean {
    return this.#state === 'ready';
  }

  get accepting(): boolean {
    return this.#state === 'ready';
  }

  get held(): number {
    return this.#held;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Calls holding a worker slot (an upgraded stream's tunnel holds none). */
  get running(): number {
    return this.calls.size - this.#switched.size;
  }

  get congested(): boolean {
    return this.#budget.congested;
  }

  send(bytes: Uint8Array): void {
    if (this.#state === 'closed') return;
    this.#budget.write(bytes);
  }

  /** One DATA frame, its payload written as it is (no copy into a frame, no masking copy). */
  sendData(streamId: number, chunks: readonly Uint8Array[], length: number): void {
    if (this.#state === 'closed') return;
    this.#budget.writeData(streamId, chunks, length);
  }

  /** Writes what is held back now: before a close or terminate, nothing queued may be lost. */
  flush(): void {
    this.#budget.flush();
  }

  waitForDrain(call: StreamCall): void {
    this.#budget.wait(call);
  }

  /** Grants the hub `n` more requests; the hub also lifts a pause a refusal put on us. */
  credit(n: number): void {
    if (this.#state !== 'ready' || n < 1) return;
    const count = Math.min(n, Limits.MAX_CREDITS - this.#held);
    if (count < 1) return;
    this.#held += count;
    this.#paused = false;
    this.send(encodeFrame({ type: 'CREDIT', streamId: 0, count }));
  }

  /**
   * Tells the hub whether our upstream answers (STATUS), when it speaks version 2; an older hub
   * learns it only from our refusals. Sent before the CREDIT that follows a recovery and before
   * the RESET of the call that found the upstream down.
   */
  reportUpstream(healthy: boolean, reason: string): void {
    if (this.#state !== 'ready' || !this.statusFrames) return;
    // The reason is ours (describeUpstreamError), short; the cut only guards the frame limit.
    const text = reason.length > 256 ? `${reason.slice(0, 253)}...` : reason;
    this.send(encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: healthy, reason: text }));
  }

  /** An upgrade's 101 went out: the hub counts the credit back now, the stream stays open. */
  callUpgraded(call: StreamCall): void {
    if (!this.calls.has(call.streamId) || this.#switched.has(call.streamId)) return;
    this.#switched.add(call.streamId);
    if (this.#state !== 'closed') this.#held++;
  }

  /** A call on this session ended; its END/RESET (or its 101) already returned the credit to the hub. */
  callEnded(call: StreamCall): void {
    const switched = this.#switched.delete(call.streamId);
    if (this.calls.delete(call.streamId) && this.#state !== 'closed' && !switched) this.#held++;
    this.#budget.forget(call);
    if (this.#state === 'draining' && this.calls.size === 0) this.#deps.onDrained(this);
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#lastSeen = this.#deps.now();
    if (this.#state === 'closed') return;
    try {
      if (!isBinary) throw new ProtocolError('ERR_PROTOCOL_BAD_VALUE', 'text message from hub');
      this.#onFrame(decodeFrame(data));
    } catch (err) {
      const pe = err instanceof ProtocolError ? err : undefined;
      this.#deps.log.error({ err: (err as Error).message }, 'protocol error from hub; reconnecting');
      this.close(pe ? closeCodeFor(pe) : CloseCode.PROTOCOL_ERROR, (err as Error).message);
    }
  }

  #onFrame(frame: Frame): void {
    if (this.#state === 'hello') {
      if (frame.type !== 'WELCOME')
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} before WELCOME`);
      this.hubWindow = frame.streamWindow;
      this.interimResponses = frame.version >= 2;
      this.statusFrames = frame.version >= 2;
      this.trailers = frame.version >= UPGRADE_VERSION;
      this.hubAgentId = frame.agentId;
      this.#state = 'ready';
      this.#deps.onWelcome(this, frame.agentId);
      return;
    }
    switch (frame.type) {
      case 'REQUEST': {
        assertNewStreamId(this.#lastStreamId, frame.streamId);
        if (frame.upgrade && !this.trailers) {
          throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', 'UPGRADE request below protocol 3');
        }
        this.#lastStreamId = frame.streamId;
        // A correct hub never sends more than it holds; clamp rather than trust a miscount.
        if (this.#held > 0) this.#held--;
        const call = this.#state === 'ready' ? this.#deps.startCall(this, frame) : 'draining';
        if (typeof call === 'string') {
          // No slot (another hub took it, upstream down, draining): nothing reached the upstream
          // and no body was read, so the hub may run it elsewhere. The credit stays spent and the
          // hub pauses our credits until our next CREDIT (docs/protocol.md §10).
          this.#paused = true;
          this.send(
            encodeFrame({
              type: 'RESET',
              streamId: frame.streamId,
              code: ResetCode.REFUSED,
              message: call,
            }),
          );
          return;
        }
        this.calls.set(frame.streamId, call);
        call.start();
        return;
      }
      case 'DATA':
      case 'END':
      case 'TRAILERS':
      case 'WINDOW':
      case 'RESET': {
        if (frame.type === 'TRAILERS' && !this.trailers) {
          throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', 'TRAILERS below protocol 3');
        }
        const call = this.calls.get(frame.streamId);
        if (!call) {
          if (frame.streamId > this.#lastStreamId) {
            throw new ProtocolError(
              'ERR_PROTOCOL_BAD_STREAM_ID',
              `${frame.type} for unopened stream ${frame.streamId}`,
            );
          }
          return; // a late frame for a stream we already closed
        }
        if (frame.type === 'DATA') call.onData(frame.data);
        else if (frame.type === 'END') call.onEnd();
        else if (frame.type === 'TRAILERS') call.onTrailers(frame.headers);
        else if (frame.type === 'WINDOW') call.onWindow(frame.increment);
        else call.onReset();
        return;
      }
      case 'GOAWAY':
        this.#deps.log.info({ message: frame.message }, 'hub is going away; finishing open requests');
        this.#state = 'draining';
        if (this.calls.size === 0) this.#deps.onDrained(this);
        return;
      default:
        throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} is not sent by hubs`);
    }
  }

  /** We are shutting down: tell the hub to send nothing new. */
  goaway(message: string): void {
    if (this.#state === 'closed') return;
    this.send(encodeFrame({ type: 'GOAWAY', streamId: 0, code: GoawayCode.DRAIN, message }));
    this.#state = 'draining';
  }

  /** Heartbeat: ping, and give up on a hub silent past the timeout. Returns false when dead. */
  tick(now: number): boolean {
    if (this.#state === 'closed') return false;
    if (now - this.#lastSeen > this.#deps.heartbeatTimeoutMs) {
      this.#deps.log.warn({ silentMs: now - this.#lastSeen }, 'hub missed heartbeats; reconnecting');
      this.terminate();
      return false;
    }
    this.#ws.ping();
    return true;
  }

  close(code: number, reason: string): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#ws.close(code, closeReason(reason));
    // the close frame goes out now: a terminate may follow within this turn (hub shutdown)
    this.flush();
    const timer = setTimeout(() => this.#ws.terminate(), 2000);
    timer.unref();
  }

  terminate(): void {
    this.#state = 'closed';
    this.flush();
    this.#ws.terminate();
  }

  /** The socket closed: every call on it is abandoned (the hub has already given up on them). */
  lost(): void {
    this.#state = 'closed';
    for (const call of [...this.calls.values()]) call.abandon();
    this.calls.clear();
    this.#switched.clear();
    this.#budget.clear();
  }
}
