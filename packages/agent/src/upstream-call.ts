import type { Readable } from 'node:stream';
import {
  DataPump,
  encodeFrame,
  expandWindow,
  type HeaderList,
  type PumpSource,
  ReceiveWindow,
  type RequestFrame,
  ResetCode,
  type ResetCodeValue,
  stripHopByHop,
} from '@slime/protocol';
import type { Client, Dispatcher } from 'undici';
import type { UpstreamResponse } from './asterisk-request.js';
import { CallSignal } from './call-signal.js';
import type { CallDeps, CallHost } from './call-types.js';
import { DispatchResponse, type ResponseEvents } from './dispatch-response.js';
import { RequestBody } from './request-body.js';
import { planRequestTrailers } from './request-trailers.js';
import { CallSink, callSink, responseFrame, type SinkHost, upstreamFailed } from './response-sender.js';
import { forwardResponse, nodeRequest, streamRequest } from './stream-request.js';
import { resetOutcome } from './upstream-errors.js';
import { type UpstreamRequest, upstreamRequest } from './upstream-request.js';

export type { CallDeps, CallHost } from './call-types.js';

/**
 * One REQUEST forwarded to the upstream with undici: the request body streams in as DATA arrives,
 * the response streams back within the hub's window. The slot is released only once undici is
 * done with the upstream, so the upstream never sees more requests than the agent has slots.
 * HTTP/1.1 upstreams go through undici's `dispatch` (DispatchResponse: no Readable, no promise);
 * h2c connections and the node:http requests (`*` targets, request trailers) give a response
 * object with a body stream.
 */
export class UpstreamCall implements ResponseEvents {
  readonly streamId: number;
  readonly #host: CallHost;
  readonly #deps: CallDeps;
  readonly #frame: RequestFrame;
  /** The dispatched request (HTTP/1.1 upstreams). */
  #dispatch: DispatchResponse | null = null;
  /** The abort signal of a request()-style call (h2c, node:http), made when one starts. */
  #signal: CallSignal | null = null;
  #body: RequestBody | null = null;
  /** The upstream connection lent to this call, returned when the call ends. */
  #client: Client | null = null;
  #response: Readable | null = null;
  #pump: DataPump | null = null;
  /** WINDOW granted before the response head (the protocol does not expect it; kept if it comes). */
  #earlyWindow = 0;
  #closed = false;
  #hubReset = false;
  #startedAt = 0;
  #status: number | undefined;
  #latencyMs: number | undefined;
  #outcome = 'ok';

  constructor(host: CallHost, frame: RequestFrame, deps: CallDeps) {
    this.#host = host;
    this.#deps = deps;
    this.#frame = frame;
    this.streamId = frame.streamId;
  }

  /** The call is over (its END or RESET went out, or its session is gone). */
  get closed(): boolean {
    return this.#closed;
  }

  start(): void {
    const frame = this.#frame;
    this.#startedAt = this.#deps.now?.() ?? 0;
    let request: UpstreamRequest;
    try {
      request = upstreamRequest(frame, this.#deps.target, this.#deps.preserveHost, this.#host.trailers);
    } catch (err) {
      this.#fail(err);
      return;
    }
    const h2c = this.#deps.target.h2c === true;
    const sendTrailers = planRequestTrailers(request, !frame.endStream, h2c);
    if (!frame.endStream) {
      const window = new ReceiveWindow({
        initial: this.#host.agentWindow,
        budget: this.#host.windowBudget ?? null,
        now: this.#deps.now ?? Date.now,
      });
      this.#body = new RequestBody(window, (increment) =>
        this.#send(encodeFrame({ type: 'WINDOW', streamId: this.streamId, increment })),
      );
      // undici destroys the body on abort; that error is ours, not news.
      this.#body.on('error', () => {});
    }
    if (!h2c && (request.path === '*' || sendTrailers)) {
      const signal = this.#callSignal().toAbortSignal();
      this.#await(nodeRequest(this.#deps, request, this.#body, signal, sendTrailers));
      return;
    }
    const client = this.#deps.connections.acquire();
    this.#client = client;
    // undici's request() refuses CONNECT with its own error: the same error as before for it
    if (!h2c && request.method !== 'CONNECT') {
      this.#dispatch = new DispatchResponse(this, this.#host.trailers === true);
      this.#dispatch.dispatch(client, {
        method: request.method as Dispatcher.HttpMethod,
        path: request.path,
        headers: request.headers,
        body: this.#body,
        headersTimeout: this.#deps.headersTimeoutMs,
        bodyTimeout: this.#deps.bodyTimeoutMs,
      });
      return;
    }
    this.#await(
      streamRequest(client, request, {
        body: this.#body,
        signal: this.#callSignal(),
        h2c,
        headersTimeoutMs: this.#deps.headersTimeoutMs,
        bodyTimeoutMs: this.#deps.bodyTimeoutMs,
        onInfo: (status, fields) => this.#onInfo(status, fields),
      }),
    );
  }

  #callSignal(): CallSignal {
    this.#signal ??= new CallSignal();
    return this.#signal;
  }

  #await(response: Promise<UpstreamResponse>): void {
    response.then(
      (res) => this.#onResponse(res),
      (err: unknown) => this.#fail(err),
    );
  }

  /** Stops the upstream request, whichever way it went out. */
  #abortUpstream(): void {
    this.#dispatch?.abort();
    this.#signal?.abort();
    this.#response?.destroy();
  }

  /** An interim response: 103 Early Hints (and 102) go to the hub when it takes them. */
  #onInfo(status: number, fields: string[]): void {
    if (this.#closed || this.#hubReset || !this.#host.interimResponses) return;
    if (status !== 102 && status !== 103) return;
    const frame = responseFrame(this.streamId, status, stripHopByHop(fields));
    if (frame instanceof Error) {
      this.#deps.log.debug({ err: frame.message, status }, 'interim response not forwarded');
    } else {
      this.#send(frame);
    }
  }

  #send(bytes: Uint8Array): void {
    if (!this.#closed) this.#host.send(bytes);
  }

  onUpstreamInfo(status: number, fields: string[]): void {
    this.#onInfo(status, fields);
  }

  onUpstreamHead(status: number, fields: string[], source: PumpSource): boolean {
    if (this.#closed || this.#hubReset) {
      this.#abortUpstream();
      return false;
    }
    this.#status = status;
    if (this.#deps.now) this.#latencyMs = this.#deps.now() - this.#startedAt;
    if (!this.#sendHead(status, stripHopByHop(fields))) return false;
    const host = this.#host;
    const sink = host.sendData
      ? new CallSink(host as SinkHost<UpstreamCall>, this)
      : callSink(
          host,
          () => host.waitForDrain(this),
          () => this.#closed,
        );
    this.#pump = new DataPump(this.streamId, host.hubWindow + this.#earlyWindow, sink, source, () =>
      this.#finish(),
    );
    return true;
  }

  onUpstreamData(chunk: Uint8Array): void {
    this.#pump?.push(chunk);
  }

  /** Protocol 3: the upstream's trailer section goes out as TRAILERS in place of END. */
  onUpstreamEnd(trailers: HeaderList | undefined): void {
    this.#pump?.end(trailers);
  }

  onUpstreamError(err: Error): void {
    this.#fail(err);
  }

  #onResponse(res: UpstreamResponse): void {
    this.#response = res.body;
    forwardResponse(res, this, this.#host.trailers === true);
  }

  /** Sends the response head; false (the call reset) when it is past the protocol's limits. */
  #sendHead(status: number, headers: HeaderList): boolean {
    const frame = responseFrame(this.streamId, status, headers);
    if (!(frame instanceof Error)) {
      this.#send(frame);
      return true;
    }
    this.#abortUpstream();
    this.#deps.log.warn({ err: frame.message }, 'upstream response head cannot be forwarded');
    this.#reset(ResetCode.UPSTREAM_ERROR, 'upstream response head exceeds protocol limits');
    return false;
  }

  /** The WebSocket drained below its low-water mark. */
  resume(): void {
    this.#pump?.resume();
  }

  onData(data: Uint8Array): void {
    if (this.#closed || !this.#body) return;
    // A peer that ignores windows cannot be trusted with the rest of the connection: feed throws
    // ERR_PROTOCOL_FLOW_CONTROL (close 4002).
    this.#body.feed(data);
  }

  onEnd(): void {
    if (!this.#closed) this.#body?.finish();
  }

  /** Protocol 3: the request body ended with trailer fields. */
  onTrailers(headers: HeaderList): void {
    if (!this.#closed) this.#body?.finish(headers);
  }

  onWindow(increment: number): void {
    if (this.#closed) return;
    if (this.#pump) this.#pump.expand(increment);
    else this.#earlyWindow = expandWindow(this.#earlyWindow, increment);
  }

  /** The hub cancelled (client gone, idle): abort the upstream call, then answer with our RESET. */
  onReset(): void {
    if (this.#closed) return;
    this.#hubReset = true;
    this.#abortUpstream();
    this.#reset(ResetCode.CANCEL, 'cancelled by hub');
  }

  /** The hub connection is gone: stop the upstream work; nobody is listening any more. */
  abandon(): void {
    if (this.#closed) return;
    this.#abortUpstream();
    this.#closed = true;
    this.#pump?.stop();
    this.#releaseClient();
    this.#host.finished(this);
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const { code, reason } = upstreamFailed(err, this.#deps, {
      streamId: this.streamId,
      hubReset: this.#hubReset,
      beforeHead: this.#status === undefined,
      what: 'upstream call failed',
    });
    this.#reset(code, reason);
  }

  #reset(code: ResetCodeValue, message: string): void {
    if (this.#closed) return;
    this.#outcome = resetOutcome(code);
    this.#abortUpstream();
    this.#body?.destroy();
    this.#send(encodeFrame({ type: 'RESET', streamId: this.streamId, code, message }));
    this.#finish();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pump?.stop();
    // The response is complete; a request body still arriving is not wanted any more.
    if (this.#body && !this.#body.readableEnded) this.#body.destroy();
    this.#releaseClient();
    this.#deps.onResult?.({ outcome: this.#outcome, status: this.#status, latencyMs: this.#latencyMs });
    this.#host.finished(this);
  }

  #releaseClient(): void {
    if (this.#client) this.#deps.connections.release(this.#client);
    this.#client = null;
  }
}
