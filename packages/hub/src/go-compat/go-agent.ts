import { randomBytes } from 'node:crypto';
import type { AgentClaims } from '@slime/protocol';
import type { Logger } from 'pino';
import { identitySnapshot, scopesOf, servesRequest } from '../agents/agent-identity.js';
import type { AgentSnapshot, OpenStreamRequest } from '../agents/connection-types.js';
import type { DispatchAgent } from '../dispatch/dispatcher.js';
import { HubError } from '../errors.js';
import { writeProblem } from '../http/problem.js';
import type { Exchange } from './go-exchange.js';
import { GoStream, type GoStreamHost } from './go-stream.js';
import { checkRequestLimits, type RequestFraming, requestHead } from './http-wire.js';

/** The wire a connected agent speaks, as /status shows it. */
export type AgentProtocol = 'slime' | 'go';

/** A Go worker's snapshot: an AgentSnapshot that says it speaks the Go long-poll protocol. */
export interface GoAgentSnapshot extends AgentSnapshot {
  protocol: 'go';
}

/** What a worker needs from the registry that keeps it. */
export interface GoWorkerHost {
  /** Whether the hub takes work (false while it drains). */
  accepting(): boolean;
  now(): number;
  log: Logger;
  /** A poll arrived: the worker can take a request. */
  onCapacity(worker: GoAgentWorker): void;
  /** The poll went away before a request came: take the worker out of dispatch. */
  onNoCapacity(worker: GoAgentWorker): void;
  /** The stream's connection id is in use (a submit may come for it) or no longer. */
  register(stream: GoStream, worker: GoAgentWorker): void;
  unregister(stream: GoStream): void;
}

export interface GoWorkerInit {
  /** Registry key: the token's id and the Go agent id. */
  key: string;
  /** The Go agent id (`Slime-Agent-Id`, one per worker: `--agentID` + worker number). */
  agentId: string;
  claims: AgentClaims;
  remoteAddress: string;
  software: string;
}

/**
 * One worker of a Go Slime Proxy agent, as our dispatcher sees it: its pending
 * `POST /v1/agent/accept` is one credit, so Go workers and native agents share one queue, one
 * choice of agent, the same scopes, policies, shaping and Slime-Block. Between the answer to its
 * submit and its next poll it takes no work, as in the Go hub.
 */
export class GoAgentWorker implements DispatchAgent, GoStreamHost {
  readonly id: string;
  readonly key: string;
  readonly agentId: string;
  readonly claims: AgentClaims;
  readonly scopes: ReadonlySet<string>;
  readonly scopePaths: ReadonlySet<string> | null;
  readonly since: number;
  remoteAddress: string;
  software: string;
  /** What the agent reported at join (hardware JSON), or null. */
  hardware: unknown = null;
  lastPick = 0;
  readonly #host: GoWorkerHost;
  #poll: Exchange | null = null;
  /** Handed-over streams a submit may still come for. */
  readonly #streams = new Set<GoStream>();
  #active = 0;
  #lastSeen: number;
  #closed = false;

  constructor(host: GoWorkerHost, init: GoWorkerInit) {
    this.#host = host;
    this.key = init.key;
    this.agentId = init.agentId;
    this.claims = init.claims;
    this.id = `${init.claims.sub}#go-${init.agentId}`;
    ({ scopes: this.scopes, scopePaths: this.scopePaths } = scopesOf(init.claims));
    this.remoteAddress = init.remoteAddress;
    this.software = init.software;
    this.since = host.now();
    this.#lastSeen = this.since;
  }

  get name(): string {
    return this.claims.sub;
  }

  get closed(): boolean {
    return this.#closed;
  }

  get accepting(): boolean {
    return !this.#closed && this.#poll !== null && this.#host.accepting();
  }

  get inFlight(): number {
    return this.#active;
  }

  /** Whether nothing ties the worker to the hub now (no poll, nothing in flight), and since when. */
  idleSince(): number | null {
    return this.#poll === null && this.#active === 0 ? this.#lastSeen : null;
  }

  now(): number {
    return this.#host.now();
  }

  serves(scope: string | undefined, path: string): boolean {
    return servesRequest(this, scope, path);
  }

  /** Any call from the agent shows it is alive. */
  seen(): void {
    this.#lastSeen = this.#host.now();
  }

  /**
   * A `POST /v1/agent/accept`: the worker is free for one request. A new poll means the agent is
   * done with everything handed to it before (the Go agent polls again after its submit, or after
   * giving a request up), and replaces an older poll still open (answered 409, as the Go hub
   * closed that agent id's earlier connections).
   */
  poll(exchange: Exchange): void {
    this.seen();
    for (const stream of [...this.#streams]) {
      if (stream.submitted) continue;
      stream.abandon('it polled again without answering');
      this.#forget(stream);
    }
    const old = this.#poll;
    this.#poll = exchange;
    if (old)
      answerPoll(
        old,
        new HubError('ERR_HUB_BAD_REQUEST', 'another poll for the same agent id replaced this one'),
      );
    exchange.res.once('close', () => {
      if (this.#poll !== exchange) return;
      this.#poll = null;
      this.seen();
      this.#host.onNoCapacity(this);
    });
    this.#host.onCapacity(this);
  }

  /** Hands a request to the waiting poll. The dispatcher checked `accepting`. */
  openStream(request: OpenStreamRequest): GoStream {
    const poll = this.#poll;
    if (!poll || this.#closed)
      throw new HubError('ERR_HUB_AGENT_LOST', `Go agent ${this.id} is not polling`, { retryable: true });
    const framing: RequestFraming =
      request.body === null
        ? 'none'
        : request.headers.some(([name]) => name === 'content-length')
          ? 'length'
          : 'chunked';
    let head: Buffer;
    try {
      // The limits of a native REQUEST frame, so a request goes here only if it could go there.
      checkRequestLimits(request.method, request.target, request.headers);
      head = requestHead(request.method, request.target, request.headers, framing);
    } catch (err) {
      throw new HubError('ERR_HUB_BAD_REQUEST', `request cannot be forwarded: ${(err as Error).message}`);
    }
    this.#poll = null;
    const stream = new GoStream(this, connectionId(), poll, request, framing);
    this.#streams.add(stream);
    this.#active++;
    this.#host.register(stream, this);
    stream.start(head);
    return stream;
  }

  streamSettled(_stream: GoStream): void {
    this.#active--;
    this.seen();
  }

  streamClosed(stream: GoStream): void {
    this.#forget(stream);
  }

  #forget(stream: GoStream): void {
    if (this.#streams.delete(stream)) this.#host.unregister(stream);
  }

  /** Fails streams that went quiet for longer than `idleMs`. */
  tick(now: number, idleMs: number): void {
    for (const stream of this.#streams) {
      if (stream.active && now - stream.lastActivity > idleMs) stream.idle();
    }
  }

  /** Ends the worker: its poll answered with `err`, its streams lost (revoked token, shutdown, gone). */
  close(reason: string, err?: HubError): void {
    if (this.#closed) return;
    this.#closed = true;
    const poll = this.#poll;
    this.#poll = null;
    if (poll) answerPoll(poll, err ?? new HubError('ERR_HUB_SHUTTING_DOWN', reason));
    for (const stream of [...this.#streams]) {
      stream.close(reason);
      this.#forget(stream);
    }
  }

  /** Answers the pending poll without work (the hub drains): the agent polls again elsewhere. */
  releasePoll(err: HubError): void {
    const poll = this.#poll;
    this.#poll = null;
    if (poll) answerPoll(poll, err);
  }

  snapshot(): GoAgentSnapshot {
    return {
      ...identitySnapshot(this),
      slots: 1,
      credits: this.#poll ? 1 : 0,
      inFlight: this.#active,
      state: this.#closed ? 'closed' : 'ready',
      upstream: '',
      software: this.software,
      hardware: this.hardware,
      remoteAddress: this.remoteAddress,
      since: this.since,
      framingViolations: 0,
      upstreamHealthy: true,
      upstreamReason: '',
      protocol: 'go',
    };
  }
}

/** Answers a poll with a problem and closes its connection (a Go agent re-polls at once on any answer). */
function answerPoll(poll: Exchange, err: HubError): void {
  const { res } = poll;
  if (res.headersSent || res.destroyed) {
    res.destroy();
    return;
  }
  res.setHeader('connection', 'close');
  writeProblem(res, err);
}

/** Connection ids are unguessable 63-bit decimals, as the Go hub's were in form. */
function connectionId(): string {
  return (randomBytes(8).readBigUInt64BE() >> 1n).toString();
}
