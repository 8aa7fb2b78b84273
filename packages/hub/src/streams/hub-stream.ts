import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import {
  type DataFrame,
  encodeFrame,
  type HeaderList,
  ReceiveWindow,
  ResetCode,
  type ResetCodeValue,
  type ResetFrame,
  type ResponseFrame,
  type TrailersFrame,
  trailerFields,
  UPGRADE_VERSION,
  type WindowBudget,
} from '@slime/protocol';
import { HubError } from '../errors.js';
import { endGrpcCall } from '../http/grpc-status.js';
import type { ProxyResponse, ResponseBody } from '../pipeline/context.js';
import type { AgentStream } from './agent-stream.js';
import { RequestSender } from './request-sender.js';
import { errorForReset, StreamRefusedError, UpstreamConnectError } from './reset-errors.js';
import { ResponseFraming } from './response-framing.js';
import { writeTrailers } from './trailers.js';

/** What a stream needs from the connection it runs on. */
export interface StreamHost {
  readonly id: string;
  /** The agent's per-stream receive window (request bodies). */
  readonly agentWindow: number;
  /** Our per-stream receive window (response bodies). */
  readonly hubWindow: number;
  /** How far response windows of this connection's streams may grow together (auto-tuning). */
  readonly windowBudget?: WindowBudget | null;
  send(bytes: Uint8Array): void;
  /** One DATA frame without copying its payload (when the connection can). */
  sendData?(streamId: number, chunks: readonly Uint8Array[], length: number): void;
  /** True while the WebSocket has more unflushed bytes than its high-water mark. */
  readonly congested: boolean;
  /** Calls `stream.resume()` once the WebSocket has flushed below its low-water mark. */
  waitForDrain(stream: AgentStream): void;
  /**
   * The stream is over: `returned` when the agent's END/RESET gave the credit back, `refused` when
   * the agent refused it (the credit stays spent), `lost` when the connection died, `detached`
   * when an upgraded stream ended (its credit came back with the 101).
   */
  streamClosed(stream: AgentStream, outcome: CloseOutcome): void;
  /** The protocol version agreed with the agent (TRAILERS from 3 on). */
  readonly version: number;
  /** The agent broke its response's framing on `stream` (already reset and failed). */
  framingViolation(stream: HubStream, problem: string): void;
  now(): number;
}

export interface StreamInit {
  /** The request method (HEAD responses have no body, whatever their fields say). */
  method?: string;
  body: Readable | null;
  /** Called for every chunk of request body read from the client (byte count). */
  onBodyRead: (bytes: number) => void;
  /** Called for every chunk of response body written to the client (byte count). */
  onResponseBytes?: (bytes: number) => void;
  /** An interim response (102, 103) arrived before the final head. */
  onInterim?: (status: number, headers: HeaderList) => void;
  /** The client's request: its trailers follow the body on a version-3 connection. */
  req?: IncomingMessage;
}

type State = 'open' | 'reset-sent' | 'closed';

/** 1xx but 101: informational heads that precede the final response (RFC 9110 §15.2). */
function isInterim(status: number): boolean {
  return status < 200 && status !== 101;
}
export type CloseOutcome = 'returned' | 'refused' | 'lost' | 'detached';

/**
 * The hub's side of one proxied request on an agent connection: pumps the client's body out as
 * DATA within the agent's window, and turns RESPONSE/DATA/END into a ProxyResponse whose body is
 * written to the client at the client's pace (WINDOW goes back only for bytes the client took).
 */
export class HubStream implements ResponseBody, AgentStream {
  readonly id: number;
  readonly #host: StreamHost;
  #state: State = 'open';
  lastActivity: number;
  #settled: Array<() => void> = [];

  /** The request body going out; null when the request has none. */
  readonly #request: RequestSender | null;
  readonly #onResponseBytes: ((bytes: number) => void) | undefined;
  readonly #onInterim: ((status: number, headers: HeaderList) => void) | undefined;
  readonly #method: string;
  #framing: ResponseFraming | null = null;
  /** The agent's TRAILERS (version 3), written to the client after the body when it takes them. */
  #trailers: HeaderList | null = null;
  /** Why the stream failed after its head was handed out (a later pipe() fails at once). */
  #failed: HubError | null = null;

  // response direction
  #head: { resolve: (r: ProxyResponse) => void; reject: (e: HubError) => void } | null = null;
  readonly response: Promise<ProxyResponse>;
  #headSeen = false;
  readonly #recvWindow: ReceiveWindow;
  #ended = false;
  #buffered: Uint8Array[] = [];
  #res: ServerResponse | null = null;
  #collector: { chunks: Uint8Array[]; size: number; limit: number } | null = null;
  #awaitingDrain = 0;
  #pipe: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #pipePromise: Promise<void> | null = null;

  constructor(host: StreamHost, id: number, init: StreamInit) {
    this.#host = host;
    this.id = id;
    this.lastActivity = host.now();
    this.#onResponseBytes = init.onResponseBytes;
    this.#onInterim = init.onInterim;
    this.#method = init.method ?? 'GET';
    this.#request = init.body
      ? new RequestSender(
          id,
          host.agentWindow,
          {
            send: (b) => host.send(b),
            ...(host.sendData
              ? {
                  sendData: (sid: number, chunks: readonly Uint8Array[], length: number) =>
                    host.sendData?.(sid, chunks, length),
                }
              : {}),
            get congested() {
              return host.congested;
            },
            waitForDrain: () => host.waitForDrain(this),
          },
          init.body,
          init.onBodyRead,
          () => this.cancel('client request body failed'),
          host.version >= UPGRADE_VERSION && init.req
            ? () => trailerFields((init.req as IncomingMessage).rawTrailers)
            : undefined,
        )
      : null;
    this.#recvWindow = new ReceiveWindow({
      initial: host.hubWindow,
      budget: host.windowBudget ?? null,
      now: () => host.now(),
    });
    this.response = new Promise((resolve, reject) => {
      this.#head = { resolve, reject };
    });
    // A rejection nobody awaits yet (e.g. while the head is pending) must not crash the process.
    this.response.catch(() => {});
  }

  get failure(): HubError | null {
    return this.#failed;
  }

  get state(): State {
    return this.#state;
  }

  /** Runs `fn` once the stream stops counting against the hub (closed, or reset by us). */
  onSettled(fn: () => void): void {
    if (this.#state !== 'open') fn();
    else this.#settled.push(fn);
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
    if (this.#state !== 'open') return;
    this.#confirm();
    this.#request?.expand(increment);
  }

  onResponse(frame: ResponseFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state === 'reset-sent' && frame.endStream) this.#close('returned');
    if (this.#state !== 'open') return;
    this.#confirm();
    if (this.#headSeen) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'second RESPONSE on a stream');
    if (isInterim(frame.status)) {
      // Protocol 2: an interim head precedes the final one; it carries no body and ends nothing.
      if (frame.endStream)
        throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'interim RESPONSE that ends the stream');
      this.#onInterim?.(frame.status, frame.headers);
      return;
    }
    const framing = ResponseFraming.of(this.#method, frame.status, frame.headers);
    const problem =
      frame.status === 101
        ? 'a 101 Switching Protocols for a request that asked for no upgrade'
        : typeof framing === 'string'
          ? framing
          : frame.endStream
            ? framing.end()
            : null;
    if (problem !== null) {
      if (frame.endStream) {
        this.#ended = true;
        this.#detachSource();
        this.#close('returned');
      }
      this.#violation(problem);
      return;
    }
    this.#framing = framing as ResponseFraming;
    this.#headSeen = true;
    this.#head?.resolve({
      status: frame.status,
      headers: frame.headers,
      servedBy: this.#host.id,
      body: this,
    });
    this.#head = null;
    if (frame.endStream) this.#onAgentEnd();
  }

  onData(frame: DataFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state !== 'open') return;
    this.#confirm();
    if (!this.#headSeen || this.#ended) {
      throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'DATA outside a response body');
    }
    // The protocol error surfaces as ERR_PROTOCOL_FLOW_CONTROL and closes the connection.
    this.#recvWindow.received(frame.data.byteLength);
    const problem = this.#framing?.data(frame.data.byteLength) ?? null;
    if (problem !== null) {
      // Nothing of the offending chunk reaches the client.
      this.#violation(problem);
      return;
    }
    this.#deliver(frame.data);
  }

  /** Version 3: trailer fields that end the response body, in place of END. */
  onTrailers(frame: TrailersFrame): void {
    if (this.#host.version < UPGRADE_VERSION) {
      throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'TRAILERS on a connection below protocol 3');
    }
    if (this.#state === 'open') this.#trailers = frame.headers;
    this.onEnd();
  }

  onEnd(): void {
    this.lastActivity = this.#host.now();
    // The agent finished before it saw our RESET: its END closes the stream and returns the credit.
    if (this.#state === 'reset-sent') this.#close('returned');
    if (this.#state !== 'open') return;
    this.#confirm();
    if (!this.#headSeen || this.#ended) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'END before RESPONSE');
    this.#onAgentEnd();
  }

  #onAgentEnd(): void {
    this.#ended = true;
    // The response is complete; whatever request body is left is not wanted any more.
    this.#detachSource();
    this.#close('returned');
    const problem = this.#framing?.end() ?? null;
    if (problem !== null) {
      this.#violation(problem);
      return;
    }
    if (this.#res) this.#finishRes();
    else if (this.#collector) this.#finishCollector();
  }

  onReset(frame: ResetFrame): void {
    this.lastActivity = this.#host.now();
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    const refused = frame.code === ResetCode.REFUSED;
    // A refusal, or a connect failure, before the agent took anything: the upstream saw nothing,
    // and the body read so far goes to the next agent.
    const connect = frame.code === ResetCode.UPSTREAM_CONNECT;
    if (wasOpen && (refused || connect) && !this.#headSeen && (this.#request?.unconfirmed ?? true)) {
      const body = this.#request?.handBack() ?? null;
      this.#close(refused ? 'refused' : 'returned');
      this.#fail(
        refused
          ? new StreamRefusedError(`agent ${this.#host.id} refused the request: ${frame.message}`, body)
          : new UpstreamConnectError(
              `agent ${this.#host.id} could not reach its upstream: ${frame.message}`,
              body,
            ),
      );
      return;
    }
    this.#confirm();
    this.#detachSource();
    this.#close(refused ? 'refused' : 'returned');
    if (!wasOpen) return;
    if (frame.code === ResetCode.NO_ERROR && this.#ended) return;
    const err = errorForReset(frame.code, frame.message, this.#host.id);
    this.#fail(err);
  }

  /** The connection died under the stream. */
  agentLost(reason: string): void {
    if (this.#state === 'closed') return;
    const wasOpen = this.#state === 'open';
    // The agent may have passed the body on before it died: it is consumed.
    this.#confirm();
    this.#detachSource();
    this.#close('lost');
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
    if (this.#state !== 'open') return;
    this.#confirm();
    this.#detachSource();
    this.#state = 'reset-sent';
    this.#host.send(encodeFrame({ type: 'RESET', streamId: this.id, code, message: reason }));
    this.#runSettled();
    const err =
      error ??
      (code === ResetCode.IDLE_TIMEOUT
        ? new HubError('ERR_HUB_STREAM_IDLE', `no data from agent ${this.#host.id} for too long`)
        : new HubError('ERR_HUB_CLIENT_GONE', reason));
    this.#fail(err);
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
    this.#buffered = [];
    if (this.#state === 'open') {
      this.#confirm();
      this.#detachSource();
      this.#state = 'reset-sent';
      this.#host.send(
        encodeFrame({ type: 'RESET', streamId: this.id, code: ResetCode.PROTOCOL_ERROR, message: problem }),
      );
      this.#runSettled();
    }
    this.#failed = err;
    this.#fail(err);
    this.#host.framingViolation(this, problem);
  }

  #fail(err: HubError): void {
    // The head may be out already with nobody piping yet: pipe() must then fail, not wait forever.
    this.#failed ??= err;
    if (this.#head) {
      this.#head.reject(err);
      this.#head = null;
    }
    // a gRPC call ends with the error as its status (UNAVAILABLE...) rather than a reset
    if (this.#res && !this.#res.writableEnded && !endGrpcCall(this.#res, err)) this.#res.destroy(err);
    this.#pipe?.reject(err);
    this.#pipe = null;
    this.#collector = null;
  }

  #close(outcome: CloseOutcome): void {
    const wasOpen = this.#state === 'open';
    this.#state = 'closed';
    this.#recvWindow.release();
    this.#host.streamClosed(this, outcome);
    if (wasOpen) this.#runSettled();
  }

  #runSettled(): void {
    const fns = this.#settled;
    this.#settled = [];
    for (const fn of fns) fn();
  }

  #detachSource(): void {
    this.#request?.stop();
  }

  // ---- ResponseBody ----

  #deliver(chunk: Uint8Array): void {
    if (this.#res) {
      this.#write(chunk);
    } else if (this.#collector) {
      const c = this.#collector;
      c.size += chunk.byteLength;
      if (c.size > c.limit) {
        this.cancel('response body larger than the fallback spool limit');
        return;
      }
      c.chunks.push(chunk);
      this.#ack(chunk.byteLength);
    } else {
      // Nobody reads yet; the window bounds what can pile up here.
      this.#buffered.push(chunk);
    }
  }

  #write(chunk: Uint8Array): void {
    const res = this.#res!;
    if (res.destroyed) return;
    this.#onResponseBytes?.(chunk.byteLength);
    if (res.write(chunk)) {
      this.#ack(chunk.byteLength);
    } else {
      if (this.#awaitingDrain === 0) res.once('drain', this.#onResDrain);
      this.#awaitingDrain += chunk.byteLength;
    }
  }

  #onResDrain = (): void => {
    const n = this.#awaitingDrain;
    this.#awaitingDrain = 0;
    this.#ack(n);
  };

  #ack(bytes: number): void {
    if (this.#state !== 'open' || this.#ended) return;
    const increment = this.#recvWindow.consumed(bytes);
    if (increment > 0) this.#host.send(encodeFrame({ type: 'WINDOW', streamId: this.id, increment }));
  }

  #finishRes(): void {
    const res = this.#res!;
    const pipe = this.#pipe;
    this.#pipe = null;
    if (res.destroyed) {
      pipe?.reject(new HubError('ERR_HUB_CLIENT_GONE', 'client went away'));
      return;
    }
    if (this.#trailers) writeTrailers(res, this.#trailers);
    res.end(() => pipe?.resolve());
  }

  pipe(res: ServerResponse): Promise<void> {
    if (this.#pipePromise) return this.#pipePromise;
    if (this.#failed) {
      res.destroy(this.#failed);
      this.#pipePromise = Promise.reject(this.#failed);
      return this.#pipePromise;
    }
    this.#res = res;
    this.#pipePromise = new Promise<void>((resolve, reject) => {
      this.#pipe = { resolve, reject };
    });
    res.once('close', () => {
      if (!res.writableFinished) this.cancel('client went away');
    });
    const buffered = this.#buffered;
    this.#buffered = [];
    for (const chunk of buffered) this.#write(chunk);
    if (this.#ended) this.#finishRes();
    return this.#pipePromise;
  }

  discard(reason: string): void {
    this.#buffered = [];
    this.cancel(reason);
  }

  readAll(limit: number): Promise<Uint8Array> {
    return new Promise<Uint8Array>((resolve, reject) => {
      const c = { chunks: [] as Uint8Array[], size: 0, limit };
      this.#collector = c;
      this.#pipe = { resolve: () => resolve(Buffer.concat(c.chunks)), reject };
      const buffered = this.#buffered;
      this.#buffered = [];
      for (const chunk of buffered) this.#deliver(chunk);
      if (this.#ended) this.#finishCollector();
      else if (this.#state !== 'open') reject(new HubError('ERR_HUB_UPSTREAM_ERROR', 'stream closed'));
    });
  }

  #finishCollector(): void {
    const pipe = this.#pipe;
    this.#pipe = null;
    this.#collector = null;
    pipe?.resolve();
  }
}
