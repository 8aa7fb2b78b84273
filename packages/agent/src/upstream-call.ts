import type { Readable } from 'node:stream';
import {
  DataPump,
  encodeFrame,
  expandWindow,
  type HeaderList,
  type PumpSource,
  type RequestFrame,
  ResetCode,
  type ResetCodeValue,
} from '@slime/protocol';
import type { Client } from 'undici';
import type { UpstreamResponse } from './asterisk-request.js';
import { CallSignal } from './call-signal.js';
import type { CallDeps, CallHost } from './call-types.js';
import { DispatchResponse, type ResponseEvents } from './dispatch-response.js';
import { HeldResponse } from './held-response.js';
import type { RequestBody } from './request-body.js';
import { planRequestTrailers } from './request-trailers.js';
import { callSinkFor, interimFrame, responseFrame, upstreamFailed } from './response-sender.js';
import { forwardResponse, nodeRequest, requestBody, streamRequest } from './stream-request.js';
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
  /** A dispatched response's head held for the rest of the turn (HeldResponse). */
  #held: HeldResponse | null = null;
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
      this.#body = requestBody(this.#host, this.#deps.now, (increment) =>
        this.#send(encodeFrame({ type: 'WINDOW', streamId: this.streamId, increment })),
      );
    }
    if (!h2c && (request.path === '*' || sendTrailers)) {
      this.#signal = new CallSignal();
      this.#await(nodeRequest(this.#deps, request, this.#body, this.#signal.toAbortSignal(), sendTrailers));
      return;
    }
    const client = this.#deps.connections.acquire();
    this.#client = client;
    // undici's request() refuses CONNECT with its own error: the same error as before for it
    if (!h2c && request.method !== 'CONNECT') {
      this.#dispatch = new DispatchResponse(this, this.#host.trailers === true);
      this.#dispatch.dispatch(client, request, this.#body, this.#deps);
      return;
    }
    this.#signal = new CallSignal();
    const options = { body: this.#body, signal: this.#signal, h2c, deps: this.#deps, events: this };
    this.#await(streamRequest(client, request, options));
  }

  #await(response: Promise<UpstreamResponse>): void {
    response.then(
      (res) => {
        this.#response = res.body;
        forwardResponse(res, this, this.#host.trailers === true);
      },
      (err: unknown) => this.#fail(err),
    );
  }

  /** Stops the upstream request, whichever way it went out. */
  #abortUpstream(): void {
    this.#dispatch?.abort();
    this.#signal?.abort();
    this.#response?.destroy();
  }

  #send(bytes: Uint8Array): void {
    if (!this.#closed) this.#host.send(bytes);
  }

  /** An interim response: 103 Early Hints (and 102) go to the hub when it takes them. */
  onUpstreamInfo(status: number, fields: string[]): void {
    if (this.#closed || this.#hubReset || !this.#host.interimResponses) return;
    const frame = interimFrame(this.streamId, status, fields, this.#deps.log);
    if (frame) this.#send(frame);
  }

  onUpstreamHead(status: number, headers: HeaderList, source: PumpSource): boolean {
    if (this.#closed || this.#hubReset) {
      this.#abortUpstream();
      return false;
    }
    this.#status = status;
    if (this.#deps.now) this.#latencyMs = this.#deps.now() - this.#startedAt;
    if (this.#dispatch && this.#host.sendWholeResponse && !this.#host.congested) {
      this.#held = new HeldResponse(status, headers, source);
      queueMicrotask(() => this.#release());
      return true;
    }
    return this.#startBody(status, headers, source);
  }

  /** Sends the head and starts pumping the body; false (the call reset) when the head cannot go. */
  #startBody(status: number, headers: HeaderList, source: PumpSource): boolean {
    if (!this.#sendHead(status, headers)) return false;
    const sink = callSinkFor(this.#host, this);
    const window = this.#host.hubWindow + this.#earlyWindow;
    this.#pump = new DataPump(this.streamId, window, sink, source, () => this.#finish());
    return true;
  }

  /** The held head (and body so far) goes out frame by frame: the response is not complete yet. */
  #release(): void {
    const held = this.#held;
    if (held === null) return;
    this.#held = null;
    if (this.#closed || !this.#startBody(held.status, held.headers, held.source)) return;
    for (const chunk of held.chunks) this.#pump?.push(chunk);
  }

  onUpstreamData(chunk: Uint8Array): void {
    if (this.#held === null) this.#pump?.push(chunk);
    else if (!this.#held.add(chunk)) this.#release();
  }

  /** Protocol 3: the upstream's trailer section goes out as TRAILERS in place of END. */
  onUpstreamEnd(trailers: HeaderList | undefined): void {
    const held = this.#held;
    if (held !== null && !trailers?.length && this.#sendWhole(held)) return;
    this.#release();
    this.#pump?.end(trailers);
  }

  /** The whole response in one write (HeldResponse.sendWhole): true when the call is over. */
  #sendWhole(held: HeldResponse): boolean {
    if (this.#closed) return false;
    const sent = held.sendWhole(this.#host, this.streamId, this.#host.hubWindow + this.#earlyWindow);
    if (sent === false) return false;
    this.#held = null;
    if (sent === true) this.#finish();
    else this.#headRefused(sent);
    return true;
  }

  onUpstreamError(err: Error): void {
    this.#fail(err);
  }

  /** Sends the response head; false (the call reset) when it is past the protocol's limits. */
  #sendHead(status: number, headers: HeaderList): boolean {
    const frame = responseFrame(this.streamId, status, headers);
    if (!(frame instanceof Error)) {
      this.#send(frame);
      return true;
    }
    this.#headRefused(frame);
    return false;
  }

  #headRefused(err: Error): void {
    this.#abortUpstream();
    this.#deps.log.warn({ err: err.message }, 'upstream response head cannot be forwarded');
    this.#reset(ResetCode.UPSTREAM_ERROR, 'upstream response head exceeds protocol limits');
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
    // what arrived before the failure goes out first, as it would have without the hold
    this.#release();
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
