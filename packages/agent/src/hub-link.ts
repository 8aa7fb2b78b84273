import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { CloseCode, Limits, type RequestFrame } from '@slime/protocol';
import type { Logger } from 'pino';
import WebSocket from 'ws';
import { backoffDelay } from './backoff.js';
import { AgentError } from './errors.js';
import { describeTlsFailure, type HubTlsOptions, hubTlsClientOptions } from './hub-tls.js';
import { Session, type SessionHello } from './session.js';
import type { StreamCall } from './stream-call.js';

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
  startCall: (session: Session, frame: RequestFrame) => StreamCall | string;
  /** A session said WELCOME: attach it to the slot pool and grant its first credits. */
  onWelcome: (session: Session, agentId: string) => void;
  /** A session ended (before or after WELCOME): detach it from the slot pool. */
  onSessionGone: (session: Session) => void;
  /** The hub refused the token: the whole agent stops. */
  onFatal: (err: AgentError) => void;
  onDisconnected: (code: number, reason: string) => void;
  /** How a wss:// hub is verified (CA, key pins). */
  tls?: HubTlsOptions | undefined;
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
      headers: {
        authorization: `Bearer ${this.#deps.token}`,
        // --agentID: the id the hub shows and sends in Slime-Agent-Id (it keeps ids unique)
        ...(this.#deps.hello.agentId ? { 'slime-agent-id': this.#deps.hello.agentId } : {}),
      },
      perMessageDeflate: false,
      // the zero masking key of the raw DATA path: frames go out as they are, not as masked copies
      generateMask: (mask: Buffer) => void mask.fill(0),
      maxPayload: Limits.MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      ...hubTlsClientOptions(this.#deps.tls),
    });
    this.#ws = socket;
    // What went wrong with this attempt, said once in the line the 'close' handler logs.
    let opened = false;
    let failure: string | undefined;
    socket.on('unexpected-response', (_req, res) => {
      const status = res.statusCode ?? 0;
      failure = `the hub answered the upgrade with HTTP ${status}`;
      void readSmallBody(res).then((body) => {
        const verdict = judgeUpgradeAnswer(this.url, status, res.headers, body);
        socket.terminate();
        if (verdict.kind === 'retry') {
          failure = verdict.detail;
          return;
        }
        log.error(
          { status, hub: this.url.host, reason: verdict.error.reason, code: verdict.error.code },
          verdict.kind === 'refused' ? 'hub refused the agent token; stopping' : 'not a Slime hub; stopping',
        );
        this.#deps.onFatal(verdict.error);
      });
    });
    socket.on('error', (err) => {
      failure ??= describeTlsFailure(err) ?? err.message;
    });
    socket.on('open', () => {
      opened = true;
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
        const attempt = this.#attempt++;
        const delay = backoffDelay(attempt, this.#deps.baseMs, this.#deps.maxMs, this.#deps.random);
        // One line per attempt: why it failed and when the next one is.
        if (opened) {
          log.info(
            { code, reason: reason.toString(), delayMs: delay },
            'disconnected from hub; reconnecting',
          );
        } else {
          log.warn(
            { err: failure ?? `closed with code ${code}`, attempt, delayMs: delay },
            'cannot reach the hub',
          );
        }
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
    // not events.once: a dial failing meanwhile (a TLS refusal) emits 'error', which would reject
    await new Promise<void>((resolve) => socket.once('close', () => resolve()));
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

/** Reads at most `limit` bytes of an upgrade's non-101 answer, waiting at most `timeoutMs`. */
function readSmallBody(res: IncomingMessage, limit = 8192, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      clearTimeout(timer);
      res.off('data', onData);
      res.off('end', done);
      res.off('error', done);
      res.off('close', done);
      resolve(Buffer.concat(chunks).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) done();
    };
    const timer = setTimeout(done, timeoutMs);
    res.on('data', onData);
    res.once('end', done);
    res.once('error', done);
    res.once('close', done);
  });
}

/** What an upgrade answer other than 101 means for the agent. */
export type UpgradeVerdict =
  /** The hub refused the token: retrying cannot help. */
  | { readonly kind: 'refused'; readonly error: AgentError }
  /** Whatever answered is not a Slime hub's agent endpoint: retrying cannot help. */
  | { readonly kind: 'not-a-hub'; readonly error: AgentError }
  /** A passing condition (hub draining, a proxy's 502 during a deploy): dial again later. */
  | { readonly kind: 'retry'; readonly detail: string };

interface HubProblem {
  status: number;
  code?: string;
  detail?: string;
  reason?: string;
}

/** The problem+json body a Slime hub writes, or undefined for anything else. */
function hubProblem(headers: IncomingHttpHeaders, body: string): HubProblem | undefined {
  if (!/^application\/problem\+json\b/i.test(String(headers['content-type'] ?? ''))) return undefined;
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null || typeof (doc as HubProblem).status !== 'number')
    return undefined;
  const p = doc as Record<string, unknown>;
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 300) : undefined);
  const out: HubProblem = { status: p.status as number };
  const code = text(p.code);
  const detail = text(p.detail);
  const reason = text(p.reason);
  if (code !== undefined) out.code = code;
  if (detail !== undefined) out.detail = detail;
  if (reason !== undefined) out.reason = reason;
  return out;
}

/**
 * Classifies an upgrade answer other than 101. A Slime hub refuses a token with 401 and a
 * problem+json body whose `reason` says why (hubs before the reason member send none); a 5xx, 408
 * or 429 passes; anything else comes from something that is not a hub's agent endpoint (the
 * hub's admin port, a plain web server, a redirect to https), which no retry will fix.
 */
export function judgeUpgradeAnswer(
  url: URL,
  status: number,
  headers: IncomingHttpHeaders,
  body: string,
): UpgradeVerdict {
  const problem = hubProblem(headers, body);
  const where = `${url.protocol}//${url.host}`;
  if (status >= 500 || status === 408 || status === 429) {
    return {
      kind: 'retry',
      detail: `${where} answered the upgrade with HTTP ${status}${problem?.detail ? ` (${problem.detail})` : ''}`,
    };
  }
  if (
    (status === 401 || status === 403) &&
    problem &&
    (problem.code ?? 'ERR_HUB_UNAUTHORIZED') === 'ERR_HUB_UNAUTHORIZED'
  ) {
    const why = problem.reason ? `, reason ${problem.reason}` : '';
    return {
      kind: 'refused',
      error: new AgentError(
        'ERR_AGENT_UNAUTHORIZED',
        `hub refused the agent token (HTTP ${status}${why}${problem.detail ? `: ${problem.detail}` : ''})`,
        { status, ...(problem.reason ? { reason: problem.reason } : {}) },
      ),
    };
  }
  let why: string;
  if (problem?.detail && problem.code?.startsWith('ERR_HUB_')) why = problem.detail;
  else if (status >= 300 && status < 400 && typeof headers.location === 'string')
    why = `a redirect to ${headers.location.slice(0, 200)}; give the final URL`;
  else if (status === 401 || status === 403)
    why =
      'not a Slime hub refusal: something in front of the hub wants its own credentials, or this is not a hub';
  else why = 'a Slime hub answers 101 or 401 there: is this the admin port or another web server?';
  return {
    kind: 'not-a-hub',
    error: new AgentError(
      'ERR_AGENT_NOT_A_HUB',
      `${where} is not a Slime hub's agent endpoint: GET ${url.pathname} answered HTTP ${status} (${why})`,
      { status },
    ),
  };
}
