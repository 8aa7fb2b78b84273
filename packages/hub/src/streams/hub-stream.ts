import {
  type DataFrame,
  type HeaderList,
  ResetCode,
  type ResetCodeValue,
  type ResetFrame,
  type ResponseFrame,
  type TrailersFrame,
  UPGRADE_VERSION,
} from '@slime/protocol';
import { HubError } from '../errors.js';
import type { ProxyResponse } from '../pipeline/context.js';
import type { AgentStream } from './agent-stream.js';
import { finishBodiless } from './finish-bodiless.js';
import { RequestSender } from './request-sender.js';
import { cancelError, earlyRefusal, errorForReset } from './reset-errors.js';
import { StreamResponseBody } from './response-body.js';
import { ResponseFraming } from './response-framing.js';
import type { StreamHost, StreamInit } from './stream-host.js';
import { StreamState, type StreamStateValue } from './stream-state.js';

export type { CloseOutcome, StreamHost, StreamInit } from './stream-host.js';

const ignore = () => {};

/**
 * The hub's side of one proxied request on an agent connection: pumps the client's body out as
 * DATA within the agent's window, and turns RESPONSE/DATA/END into a ProxyResponse whose body is
 * written to the client at the client's pace (WINDOW goes back only for bytes the client took).
 */
export class HubStream implements AgentStream {
  readonly id: number;
  readonly #host: StreamHost;
  readonly #state: StreamState;
  lastActivity: number;

  /** The request body going out; null when the request has none. */
  readonly #request: RequestSender | null;
  readonly #onInterim: ((status: number, headers: HeaderList) => void) | undefined;
  readonly #method: string;
  #framing: ResponseFraming | null = null;
  /** The agent's TRAILERS (version 3), written to the client after the body when it takes them. */
  #trailers: HeaderList | null = null;

  // response direction: the head's settle functions, null once it settled
  #resolveHead: ((r: ProxyResponse) => void) | null = null;
  #rejectHead: ((e: HubError) => void) | null = null;
  readonly response: Promise<ProxyResponse>;
  #headSeen = false;
  #ended = false;
  readonly #body: StreamResponseBody;

  constructor(host: StreamHost, id: number, init: StreamInit) {
    this.#host = host;
    this.id = id;
    this.lastActivity = host.now();
    this.#onInterim = init.onInterim;
    this.#method = init.method ?? 'GET';
    // no closure for the (usual) request without a body
    this.#request = init.body?.stream
      ? RequestSender.of(host, this, init.body, init.req, () => this.cancel('client request body failed'))
      : null;
    if (this.#request === null) finishBodiless(init.req);
    this.#state = new StreamState(host, this);
    // WINDOW goes back as the client reads (consumed); a client that leaves resets the stream (cancel).
    this.#body = new StreamResponseBody(this);
    this.response = new Promise((resolve, reject) => {
      this.#resolveHead = resolve;
      this.#rejectHead = reject;
    });
    // A rejection nobody awaits yet (e.g. while the head is pending) must not crash the process.
    this.response.catch(ignore);
  }

  /** The client took `bytes` of the response body (the body's producer side): WINDOW for them. */
  consumed(bytes: number): void {
    if (!this.#ended) this.#state.credit(bytes);
  }

  /** Why the response failed after its head was handed out (a later pipe() fails at once). */
  get failure(): HubError | null {
    return this.#body.failure;
  }

  get state(): StreamStateValue {
    return this.#state.value;
  }

  /** Runs `fn` once the stream stops counting against the hub (closed, or reset by us). */
  onSettled(fn: () => void): void {
    this.#state.onSettled(fn);
  }

  /** Starts pumping the request body (call after REQUEST was sent). */
  start(): void {
    this.#request?.start();
  }

  /** Any frame from the agent but RESET REFUSED shows it took the request. */
  #confirm(): void {
    this.#request?.confirm();
  }

  /** Called by the host when the WebSocket drained. */
  resume(): void {
    this.#request?.resume();
  }

  onWindow(increment: number): void {
    this.lastActivity = this.#host.now();
    if (this.#state.value !== 'open') return;
    this.#confirm();
    this.#request?.expand(increment);
  }

  onResponse(frame: ResponseFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state.value === 'reset-sent' && frame.endStream) this.#state.close('returned');
    if (this.#state.value !== 'open') return;
    this.#confirm();
    if (this.#headSeen) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'second RESPONSE on a stream');
    if (ResponseFraming.isInterim(frame.status)) {
      // Protocol 2: an interim head precedes the final one; it carries no body and ends nothing.
      if (frame.endStream)
        throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'interim RESPONSE that ends the stream');
      this.#onInterim?.(frame.status, frame.headers);
      return;
    }
    const framing = ResponseFraming.ofHead(this.#method, frame);
    if (typeof framing === 'string') {
      if (frame.endStream) {
        this.#ended = true;
        this.#detachSource();
        this.#state.close('returned');
      }
      this.#violation(framing);
      return;
    }
    this.#framing = framing;
    this.#headSeen = true;
    this.#resolveHead?.({
      status: frame.status,
      headers: frame.headers,
      servedBy: this.#host.id,
      body: this.#body,
    });
    this.#resolveHead = this.#rejectHead = null;
    if (frame.endStream) this.#onAgentEnd();
  }

  onData(frame: DataFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state.value !== 'open') return;
    this.#confirm();
    if (!this.#headSeen || this.#ended) {
      throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'DATA outside a response body');
    }
    // The protocol error surfaces as ERR_PROTOCOL_FLOW_CONTROL and closes the connection.
    this.#state.received(frame.data.byteLength);
    const problem = this.#framing?.data(frame.data.byteLength) ?? null;
    if (problem !== null) {
      // Nothing of the offending chunk reaches the client.
      this.#violation(problem);
      return;
    }
    this.#body.push(frame.data);
  }

  /** Version 3: trailer fields that end the response body, in place of END. */
  onTrailers(frame: TrailersFrame): void {
    if (this.#host.version < UPGRADE_VERSION) {
      throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'TRAILERS on a connection below protocol 3');
    }
    if (this.#state.value === 'open') this.#trailers = frame.headers;
    this.onEnd();
  }

  onEnd(): void {
    this.lastActivity = this.#host.now();
    // The agent finished before it saw our RESET: its END closes the stream and returns the credit.
    if (this.#state.value === 'reset-sent') this.#state.close('returned');
    if (this.#state.value !== 'open') return;
    this.#confirm();
    if (!this.#headSeen || this.#ended) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'END before RESPONSE');
    this.#onAgentEnd();
  }

  #onAgentEnd(): void {
    this.#ended = true;
    // The response is complete; whatever request body is left is not wanted any more.
    this.#detachSource();
    this.#state.close('returned');
    const problem = this.#framing?.end() ?? null;
    if (problem !== null) {
      this.#violation(problem);
      return;
    }
    this.#body.end(this.#trailers);
  }

  onReset(frame: ResetFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state.value === 'closed') return;
    const wasOpen = this.#state.value === 'open';
    const refused = frame.code === ResetCode.REFUSED;
    // A refusal, or a connect failure, before the agent took anything: the upstream saw nothing,
    // and the body read so far goes to the next agent.
    const connect = frame.code === ResetCode.UPSTREAM_CONNECT;
    if (wasOpen && (refused || connect) && !this.#headSeen && (this.#request?.unconfirmed ?? true)) {
      // the attempt gets the body back for its next try
      this.#request?.handBack();
      this.#state.close(refused ? 'refused' : 'returned');
      this.#fail(earlyRefusal(frame.code, frame.message, this.#host.id));
      return;
    }
    this.#confirm();
    this.#detachSource();
    this.#state.close(refused ? 'refused' : 'returned');
    if (!wasOpen) return;
    if (frame.code === ResetCode.NO_ERROR && this.#ended) return;
    const err = errorForReset(frame.code, frame.message, this.#host.id);
    this.#fail(err);
  }

  /** The connection died under the stream. */
  agentLost(reason: string): void {
    if (this.#state.value === 'closed') return;
    const wasOpen = this.#state.value === 'open';
    // The agent may have passed the body on before it died: it is consumed.
    this.#confirm();
    this.#detachSource();
    this.#state.close('lost');
    if (!wasOpen || this.#ended) return;
    this.#fail(
      new HubError('ERR_HUB_AGENT_LOST', `agent ${this.#host.id} was lost: ${reason}`, {
        retryable: !this.#headSeen && !(this.#request?.bodyRead ?? false),
      }),
    );
  }

  /** The request deadline passed before the response head: cancel at the agent, 504 for the client. */
  expire(timeoutMs: number): void {
    if (this.#headSeen) return;
    this.cancel(
      'request timeout',
      ResetCode.CANCEL,
      new HubError(
        'ERR_HUB_UPSTREAM_TIMEOUT',
        `no response head from agent ${this.#host.id} within ${timeoutMs} ms`,
      ),
    );
  }

  /** Hub-side abort: tell the agent to stop; its own RESET returns the credit later. */
  cancel(reason: string, code: ResetCodeValue = ResetCode.CANCEL, error?: HubError): void {
    if (this.#state.value !== 'open') return;
    this.#reset(code, reason);
    this.#fail(error ?? cancelError(code, reason, this.#host.id));
  }

  /**
   * The agent's response broke its own framing: reset the stream, never send the client a byte
   * more, and abort the client's connection if its head already left (a status can no longer
   * change); the connection counts the violation.
   */
  #violation(problem: string): void {
    const err = new HubError(
      'ERR_HUB_UPSTREAM_ERROR',
      `agent ${this.#host.id} broke the response framing: ${problem}`,
    );
    if (this.#state.value === 'open') this.#reset(ResetCode.PROTOCOL_ERROR, problem);
    this.#fail(err);
    this.#host.framingViolation(this, problem);
  }

  /** Tells the agent to stop; the stream stops counting against the hub, the credit comes later. */
  #reset(code: ResetCodeValue, message: string): void {
    this.#confirm();
    this.#detachSource();
    this.#state.reset(code, message);
  }

  #fail(err: HubError): void {
    if (this.#rejectHead) {
      this.#rejectHead(err);
      this.#resolveHead = this.#rejectHead = null;
    }
    // The head may be out already with nobody piping yet: pipe() must then fail, not wait forever.
    this.#body.fail(err);
  }

  #detachSource(): void {
    this.#request?.stop();
  }
}
