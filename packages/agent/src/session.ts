import {
  CloseCode,
  createMuxEndpoint,
  DEFAULT_CONNECTION_WINDOW_GROWTH,
  DEFAULT_STREAM_WINDOW,
  encodeFrame,
  type Frame,
  GoawayCode,
  type HelloFrame,
  Limits,
  type MuxEndpoint,
  MuxPeer,
  type MuxState,
  type MuxTimers,
  PROTOCOL_VERSION,
  ProtocolError,
  type RequestFrame,
  ResetCode,
  SUPPORTED_VERSIONS,
  UPGRADE_VERSION,
  type WebSocketLike,
  WindowBudget,
  webSocketMux,
} from '@slime/protocol';
import type { Logger } from 'pino';
import { deliverToCall } from './hub-frames.js';
import type { CreditLink } from './slot-pool.js';
import type { StreamCall } from './stream-call.js';
import type { CallHost } from './upstream-call.js';

/** What the agent says of itself in HELLO (the versions are the session's). */
export type SessionHello = Omit<HelloFrame, 'type' | 'streamId' | 'minVersion' | 'maxVersion'>;

export interface SessionDeps {
  hello: SessionHello;
  log: Logger;
  now: () => number;
  /** Timers for the close deadline and frame batching (default: Node's, on `now`). */
  timers?: MuxTimers;
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

/**
 * One connection to a hub: HELLO/WELCOME, the calls the hub opens on the multiplexed endpoint
 * (which owns frames, the stream table, heartbeats and the close), and an exact mirror of the
 * credits that hub holds (the SlotPool decides when to grant more).
 */
export class Session
  extends MuxPeer<StreamCall>
  implements Omit<CallHost, 'finished' | 'waitForDrain'>, CreditLink
{
  readonly #deps: SessionDeps;
  protected readonly mux: MuxEndpoint<StreamCall>;
  /** Calls whose upstream switched protocols: their credit went back with the 101. */
  readonly #switched = new Set<number>();
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

  constructor(ws: WebSocketLike, deps: SessionDeps) {
    super();
    this.#deps = deps;
    this.agentWindow = deps.hello.streamWindow;
    const now = deps.now;
    this.mux = createMuxEndpoint<StreamCall>({
      // a client masks: with a zero key, so payloads go out as they are
      socket: webSocketMux(ws, { masked: true }),
      timers: deps.timers ?? {
        now,
        schedule: setImmediate,
        setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
        clearTimeout: (t) => clearTimeout(t as NodeJS.Timeout),
      },
      opening: 'WELCOME',
      // the agent's ticker runs at its ping interval: a ping at every tick
      heartbeatMs: 0,
      heartbeatTimeoutMs: deps.heartbeatTimeoutMs,
      handler: {
        onFrame: (frame) => this.#onFrame(frame),
        onFrameError: (err) => {
          deps.log.error({ err: (err as Error).message }, 'protocol error from hub; reconnecting');
          return (err as Error).message;
        },
        onClosed: (_code, _reason, calls) => {
          for (const call of calls) call.abandon();
          this.#switched.clear();
        },
      },
    });
    const hello = { type: 'HELLO', streamId: 0, minVersion: SUPPORTED_VERSIONS.min } as const;
    this.send(encodeFrame({ ...hello, maxVersion: PROTOCOL_VERSION, ...deps.hello }));
  }

  get state(): MuxState {
    return this.mux.state;
  }

  get ready(): boolean {
    return this.state === 'ready';
  }

  get accepting(): boolean {
    return this.state === 'ready';
  }

  get held(): number {
    return this.#held;
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Calls holding a worker slot (an upgraded stream's tunnel holds none). */
  get running(): number {
    return this.mux.streams.size - this.#switched.size;
  }

  /** Grants the hub `n` more requests; the hub also lifts a pause a refusal put on us. */
  credit(n: number): void {
    if (this.state !== 'ready' || n < 1) return;
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
    if (this.state !== 'ready' || !this.statusFrames) return;
    // The reason is ours (describeUpstreamError), short; the cut only guards the frame limit.
    const text = reason.length > 256 ? `${reason.slice(0, 253)}...` : reason;
    this.send(encodeFrame({ type: 'STATUS', streamId: 0, upstreamHealthy: healthy, reason: text }));
  }

  /** An upgrade's 101 went out: the hub counts the credit back now, the stream stays open. */
  callUpgraded(call: StreamCall): void {
    if (!this.mux.streams.get(call.streamId) || this.#switched.has(call.streamId)) return;
    this.#switched.add(call.streamId);
    if (this.state !== 'closed') this.#held++;
  }

  /** A call on this session ended; its END/RESET (or its 101) already returned the credit to the hub. */
  callEnded(call: StreamCall): void {
    const switched = this.#switched.delete(call.streamId);
    if (this.mux.forget(call.streamId, call) && this.state !== 'closed' && !switched) this.#held++;
    if (this.state === 'draining' && this.mux.streams.size === 0) this.#deps.onDrained(this);
  }

  #onFrame(frame: Frame): void {
    switch (frame.type) {
      case 'WELCOME':
        if (this.state !== 'hello') break;
        this.hubWindow = frame.streamWindow;
        this.interimResponses = frame.version >= 2;
        this.statusFrames = frame.version >= 2;
        this.trailers = frame.version >= UPGRADE_VERSION;
        this.hubAgentId = frame.agentId;
        this.mux.enter('ready');
        this.#deps.onWelcome(this, frame.agentId);
        return;
      case 'REQUEST':
        this.#onRequest(frame);
        return;
      case 'TRAILERS':
        if (!this.trailers) throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', 'TRAILERS below protocol 3');
        deliverToCall(this.mux.streams, frame);
        return;
      case 'DATA':
      case 'END':
      case 'WINDOW':
      case 'RESET':
        deliverToCall(this.mux.streams, frame);
        return;
      case 'GOAWAY':
        this.#deps.log.info({ message: frame.message }, 'hub is going away; finishing open requests');
        this.mux.enter('draining');
        if (this.mux.streams.size === 0) this.#deps.onDrained(this);
        return;
    }
    throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `${frame.type} is not sent by hubs`);
  }

  #onRequest(frame: RequestFrame): void {
    this.mux.streams.accept(frame.streamId);
    if (frame.upgrade && !this.trailers) {
      throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', 'UPGRADE request below protocol 3');
    }
    // A correct hub never sends more than it holds; clamp rather than trust a miscount.
    if (this.#held > 0) this.#held--;
    const call = this.state === 'ready' ? this.#deps.startCall(this, frame) : 'draining';
    if (typeof call === 'string') {
      // No slot (another hub took it, upstream down, draining): nothing reached the upstream
      // and no body was read, so the hub may run it elsewhere. The credit stays spent and the
      // hub pauses our credits until our next CREDIT (docs/protocol.md §10).
      this.#paused = true;
      this.send(
        encodeFrame({ type: 'RESET', streamId: frame.streamId, code: ResetCode.REFUSED, message: call }),
      );
      return;
    }
    this.mux.streams.add(frame.streamId, call);
    call.start();
  }

  /** We are shutting down: tell the hub to send nothing new. */
  goaway(message: string): void {
    if (this.state === 'closed') return;
    this.send(encodeFrame({ type: 'GOAWAY', streamId: 0, code: GoawayCode.DRAIN, message }));
    this.mux.enter('draining');
  }

  /** Heartbeat: ping, and give up on a hub silent past the timeout. Returns false when dead. */
  tick(now: number): boolean {
    if (this.state === 'closed') return false;
    if (this.mux.heartbeat(now) !== 'drop') return true;
    this.#deps.log.warn({ silentMs: now - this.mux.lastSeen }, 'hub missed heartbeats; reconnecting');
    this.terminate();
    return false;
  }

  close(code: number, reason: string): void {
    this.mux.close(code, reason);
  }

  terminate(): void {
    this.mux.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
  }

  /** The socket closed: every call on it is abandoned (the hub has already given up on them). */
  lost(): void {
    this.mux.abandon(1006, 'connection lost');
  }
}
