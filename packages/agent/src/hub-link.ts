import { once } from 'node:events';
import { CloseCode, Limits, type RequestFrame } from '@slime/protocol';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { backoffDelay } from './backoff.js';
import { AgentError } from './errors.js';
import { Session, type SessionHello } from './session.js';
import type { UpstreamCall } from './upstream-call.js';

export interface HubLinkDeps {
  url: URL;
  token: string;
  hello: SessionHello;
  log: Logger;
  now: () => number;
  random: () => number;
  baseMs: number;
  maxMs: number;
  heartbeatTimeoutMs: number;
  /** Whether the agent still wants connections (false once it closes). */
  running: () => boolean;
  startCall: (session: Session, frame: RequestFrame) => UpstreamCall | string;
  /** A session said WELCOME: attach it to the slot pool and grant its first credits. */
  onWelcome: (session: Session, agentId: string) => void;
  /** A session ended (before or after WELCOME): detach it from the slot pool. */
  onSessionGone: (session: Session) => void;
  /** The hub refused the token: the whole agent stops. */
  onFatal: (err: AgentError) => void;
  onDisconnected: (code: number, reason: string) => void;
}

/**
 * The agent's link to one hub: dials, keeps one Session at a time, reconnects forever with capped,
 * jittered backoff. Calls of a lost session keep their slots until they stop; the SlotPool then
 * offers the slot to whichever hubs are connected.
 */
export class HubLink {
  readonly url: URL;
  readonly #deps: HubLinkDeps;
  #ws: WebSocket | null = null;
  #session: Session | null = null;
  #attempt = 0;
  #lastLoggedAttempt = -1;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(deps: HubLinkDeps) {
    this.url = deps.url;
    this.#deps = deps;
  }

  get session(): Session | null {
    return this.#session;
  }

  get ready(): boolean {
    return this.#session?.ready ?? false;
  }

  connect(): void {
    if (this.#stopped || !this.#deps.running()) return;
    const { log } = this.#deps;
    const socket = new WebSocket(this.url, {
      headers: { authorization: `Bearer ${this.#deps.token}` },
      perMessageDeflate: false,
      maxPayload: Limits.MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
    });
    this.#ws = socket;
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      socket.terminate();
      if (status === 401 || status === 403) {
        log.error({ status, hub: this.url.host }, 'hub refused the agent token; stopping');
        this.#deps.onFatal(
          new AgentError('ERR_AGENT_UNAUTHORIZED', `hub refused the agent token (HTTP ${status})`),
        );
        return;
      }
      log.warn({ status }, 'hub answered the upgrade with an error');
    });
    socket.on('error', (err) => {
      if (this.#attempt !== this.#lastLoggedAttempt) {
        this.#lastLoggedAttempt = this.#attempt;
        log.warn({ err: err.message, attempt: this.#attempt }, 'cannot reach the hub');
      }
    });
    socket.on('open', () => {
      this.#session = new Session(socket, {
        hello: this.#deps.hello,
        log,
        now: this.#deps.now,
        heartbeatTimeoutMs: this.#deps.heartbeatTimeoutMs,
        startCall: this.#deps.startCall,
        onWelcome: (s, agentId) => {
          this.#attempt = 0;
          this.#deps.onWelcome(s, agentId);
        },
        onDrained: (s) => s.close(CloseCode.NORMAL, 'drained after GOAWAY'),
      });
    });
    socket.on('close', (code, reason) => {
      const owner = this.#session;
      if (owner && this.#ws === socket) {
        this.#session = null;
        this.#deps.onSessionGone(owner);
        owner.lost();
      }
      if (this.#ws === socket) this.#ws = null;
      this.#deps.onDisconnected(code, reason.toString());
      if (!this.#stopped && this.#deps.running()) {
        const delay = backoffDelay(this.#attempt++, this.#deps.baseMs, this.#deps.maxMs, this.#deps.random);
        log.info({ code, reason: reason.toString(), delayMs: delay }, 'disconnected from hub; reconnecting');
        this.#timer = setTimeout(() => this.connect(), delay);
      }
    });
  }

  /** Heartbeat: ping the hub, drop it when silent too long. */
  tick(now: number): void {
    this.#session?.tick(now);
  }

  /** Our shutdown: GOAWAY, and no reconnect. */
  goaway(message: string): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#session?.goaway(message);
  }

  /** Closes the socket with 1000 once our calls are done; resolves when it is closed. */
  async closeSocket(): Promise<void> {
    const socket = this.#ws;
    if (!socket || socket.readyState === WebSocket.CLOSED) return;
    // Already CLOSING when a drain finished: wait for the handshake too (bounded by the
    // session's terminate timer), so the last END and the close frame reach the hub.
    if (socket.readyState === WebSocket.OPEN) this.#session?.close(CloseCode.NORMAL, 'agent shut down');
    await once(socket, 'close');
  }

  /** Immediate: no reconnect, socket terminated, its calls abandoned. */
  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#session?.flush();
    this.#ws?.terminate();
    const owner = this.#session;
    if (owner) {
      this.#session = null;
      this.#deps.onSessionGone(owner);
      owner.lost();
    }
  }
}
