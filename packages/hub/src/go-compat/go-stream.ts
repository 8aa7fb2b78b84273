import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OpenStreamRequest } from '../agents/connection-types.js';
import type { DispatchedStream } from '../dispatch/dispatcher.js';
import { HubError } from '../errors.js';
import type { AttemptBody, ProxyResponse } from '../pipeline/context.js';
import { StreamResponseBody } from '../streams/response-body.js';
import { type Exchange, refuseSubmit } from './go-exchange.js';
import { GoRequestBody } from './go-request-body.js';
import {
  agentLost,
  headTimeout,
  IDEMPOTENT,
  malformedResponse,
  requestDropped,
  streamIdle,
  workerClosed,
} from './go-stream-errors.js';
import type { GoStreamHost, State } from './go-stream-types.js';
import { type ParseEvent, type RequestFraming, ResponseParser } from './http-wire.js';

export type { GoStreamHost } from './go-stream-types.js';

/**
 * One application request handed to a Go agent: the request goes out as the answer to the
 * worker's `POST /v1/agent/accept`, the response comes back as the body of its
 * `POST /v1/agent/submit`. The long-poll answer stays open until the submit arrives, so a worker
 * that gives up (its upstream call failed: the Go agent then closes that connection and polls
 * again) or dies is noticed at once instead of leaving the client waiting.
 */
export class GoStream implements DispatchedStream {
  readonly connectionId: string;
  readonly response: Promise<ProxyResponse>;
  lastActivity: number;
  readonly #host: GoStreamHost;
  readonly #method: string;
  readonly #poll: Exchange;
  #submit: Exchange | null = null;
  #state: State = 'handed';
  #settled: Array<() => void> | null = [];

  readonly #request: GoRequestBody;
  /** The attempt's body: a worker that drops the request untouched gives it back. */
  readonly #attemptBody: AttemptBody | null;

  // response direction
  #head: { resolve: (r: ProxyResponse) => void; reject: (e: HubError) => void } | null = null;
  #parser: ResponseParser;
  #submitEnded = false;
  readonly #body: StreamResponseBody;

  constructor(
    host: GoStreamHost,
    connectionId: string,
    poll: Exchange,
    request: OpenStreamRequest,
    framing: RequestFraming,
  ) {
    this.#host = host;
    this.connectionId = connectionId;
    this.#poll = poll;
    this.#method = request.method;
    this.#attemptBody = request.body;
    this.#request = new GoRequestBody(poll.res, request.body?.stream ?? null, framing, {
      onRead: (bytes) => {
        this.lastActivity = this.#host.now();
        request.body?.read(bytes);
      },
      onSent: () => this.#endPoll(),
      onError: () => this.cancel('client request body failed'),
    });
    // The submit is read only as fast as the client (or a fallback's spool) takes the body:
    // paused while the body is a high-water mark ahead of its reader, resumed as it reads.
    this.#body = new StreamResponseBody({
      consumed: () => this.#submit?.req.resume(),
      cancel: (reason) => this.cancel(reason),
    });
    this.#parser = new ResponseParser(request.method);
    this.lastActivity = host.now();
    this.response = new Promise((resolve, reject) => {
      this.#head = { resolve, reject };
    });
    // A rejection nobody awaits yet must not crash the process.
    this.response.catch(() => {});
  }

  /** Whether the submit for this stream arrived (then the worker is answering it). */
  get submitted(): boolean {
    return this.#submit !== null;
  }

  /** Whether the stream still counts against the worker and the hub. */
  get active(): boolean {
    return this.#settled !== null;
  }

  onSettled(fn: () => void): void {
    if (this.#settled === null) fn();
    else this.#settled.push(fn);
  }

  /** Answers the worker's long poll with the request: status, connection id, then the wire request. */
  start(head: Buffer): void {
    const { res } = this.#poll;
    if (res.destroyed) {
      // The poll's connection died in the same turn it was chosen: nothing reached the agent.
      this.abandon('its long poll was closed', true);
      return;
    }
    res.once('close', () => {
      if (!res.writableFinished) this.abandon('its long poll closed before it answered');
    });
    res.writeHead(200, {
      'content-type': 'message/http',
      'cache-control': 'no-store',
      'slime-connection-id': this.connectionId,
    });
    res.write(head);
    this.#request.start();
  }

  /** Once the submit arrived and the request body went out, the long poll's answer is complete. */
  #endPoll(): void {
    const { res } = this.#poll;
    if (this.#request.sent && this.#submit && !res.writableEnded && !res.destroyed) res.end();
  }

  /**
   * The worker left the request without a submit: it closed the long poll, or polled again (the
   * Go agent does both when its upstream call fails). It may have reached the upstream, so only a
   * request that is safe to repeat and whose body was not read goes to another agent; any other
   * gets 502. `nothingSent`: the request never left the hub, so any method runs elsewhere.
   */
  abandon(why: string, nothingSent = false): void {
    if (this.#state !== 'handed') return;
    const elsewhere = !this.#request.read && (nothingSent || IDEMPOTENT.has(this.#method));
    if (elsewhere) this.#attemptBody?.handBack(this.#request.detach());
    this.#fail(requestDropped(this.#host.id, why, elsewhere));
  }

  /** The worker's `POST /v1/agent/submit` for this stream arrived. */
  onSubmit(req: IncomingMessage, res: ServerResponse): void {
    if (this.#submit !== null || this.#state !== 'handed') {
      // Cancelled meanwhile, or a second submit: the agent must stop sending.
      refuseSubmit(req, res, 'the request was cancelled or already answered');
      this.#host.streamClosed(this);
      return;
    }
    this.#submit = { req, res };
    this.#state = 'submitting';
    this.lastActivity = this.#host.now();
    this.#endPoll();
    req.on('data', this.#onSubmitData);
    req.once('end', this.#onSubmitEnd);
    res.once('close', () => {
      if (this.#submitEnded) return;
      if (this.#state === 'submitting') this.#lost('its submit connection closed mid-response');
      else this.#host.streamClosed(this);
    });
  }

  #onSubmitData = (data: Buffer): void => {
    this.lastActivity = this.#host.now();
    this.#parse(() => this.#parser.push(data));
  };

  #onSubmitEnd = (): void => {
    this.#submitEnded = true;
    if (this.#parse(() => this.#parser.finish())) this.#answerSubmit();
  };

  /** Reads what the submit carried; false when it was malformed (the stream then failed). */
  #parse(read: () => ParseEvent[]): boolean {
    let events: ParseEvent[];
    try {
      events = read();
    } catch (err) {
      if (this.#state === 'submitting') this.#malformed(err);
      return false;
    }
    this.#handle(events);
    return true;
  }

  #handle(events: ParseEvent[]): void {
    for (const e of events) {
      if (this.#state !== 'submitting') return;
      if (e.type === 'head') {
        this.#head?.resolve({
          status: e.head.status,
          headers: e.head.headers,
          servedBy: this.#host.id,
          body: this.#body,
        });
        this.#head = null;
      } else if (e.type === 'data') {
        if (e.data.byteLength > 0 && !this.#body.push(e.data)) this.#submit?.req.pause();
      } else {
        this.#complete();
      }
    }
  }

  #malformed(err: unknown): void {
    this.#fail(malformedResponse(this.#host.id, err));
  }

  #lost(why: string): void {
    if (this.#state !== 'submitting') return;
    this.#fail(agentLost(this.#host.id, why));
  }

  /** The whole response arrived. */
  #complete(): void {
    this.#state = 'done';
    this.#settle();
    this.#body.end();
    // The rest of the submit (its last chunk) is read to its end even if nobody reads the body.
    this.#submit?.req.resume();
    this.#answerSubmit();
  }

  /**
   * "200, empty body" once the copy ended, as the Go hub answered; the worker then polls again.
   * Sent when the response is complete, without waiting for the submit's last chunk.
   */
  #answerSubmit(): void {
    const submit = this.#submit;
    if (!submit || this.#state !== 'done') return;
    if (!submit.res.headersSent && !submit.res.destroyed) {
      submit.res.writeHead(200, { 'content-length': '0' });
      submit.res.end();
    }
    this.#host.streamClosed(this);
  }

  /** The request deadline passed before the response head: stop it at the agent, 504 for the client. */
  expire(timeoutMs: number): void {
    if (this.#head === null) return;
    this.#fail(headTimeout(this.#host.id, timeoutMs));
  }

  /** Hub-side abort (client gone, body failed, idle): the agent is told by closing its connection. */
  cancel(reason: string, error?: HubError): void {
    if (this.#state === 'done' || this.#state === 'failed') return;
    this.#fail(error ?? new HubError('ERR_HUB_CLIENT_GONE', reason));
  }

  /** Nothing came from the agent for too long. */
  idle(): void {
    this.cancel('stream idle', streamIdle(this.#host.id));
  }

  /** The worker was closed by the hub (revoked token, shutdown). */
  close(reason: string): void {
    if (this.#state === 'done' || this.#state === 'failed') {
      this.#stopAgent();
      return;
    }
    const retryable = !this.#request.read && this.#submit === null && IDEMPOTENT.has(this.#method);
    this.#fail(workerClosed(this.#host.id, reason, retryable));
  }

  #fail(err: HubError): void {
    if (this.#state === 'done' || this.#state === 'failed') return;
    this.#state = 'failed';
    this.#request.detach();
    this.#stopAgent();
    this.#settle();
    if (this.#head) {
      this.#head.reject(err);
      this.#head = null;
    }
    this.#body.fail(err);
  }

  /**
   * Tells the Go agent to stop: its connection closes under it, so its upstream call is cancelled
   * (at once while it streams the request body or the response; a bodyless request when the head
   * comes back and the submit is refused). Without a submit yet, one may still come: the stream
   * stays known (and refuses it) until the worker polls again.
   */
  #stopAgent(): void {
    const submit = this.#submit;
    if (submit) {
      if (!this.#submitEnded || !submit.res.writableEnded) submit.req.socket?.destroy();
      this.#host.streamClosed(this);
    } else if (!this.#poll.res.writableEnded) {
      this.#poll.res.destroy();
    }
  }

  #settle(): void {
    const fns = this.#settled;
    if (fns === null) return;
    this.#settled = null;
    this.#host.streamSettled(this);
    for (const fn of fns) fn();
  }
}
