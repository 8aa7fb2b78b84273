import { type ClientRequest, request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import {
  type DataPump,
  encodeFrame,
  type HeaderList,
  ProtocolError,
  type RequestFrame,
  ResetCode,
  type ResetCodeValue,
  stripHopByHop,
} from '@slime/protocol';
import type { CallDeps, CallHost } from './call-types.js';
import { callSink, pumpResponse, responseFrame, upstreamFailed } from './response-sender.js';
import type { StreamCall } from './stream-call.js';
import { upstreamRequest } from './upstream-request.js';
import { UpstreamTunnel } from './upstream-tunnel.js';

/** The session side of an upgrade: a CallHost that also learns when the 101 freed the slot. */
export interface UpgradeCallHost extends Omit<CallHost, 'finished' | 'waitForDrain'> {
  waitForDrain(call: StreamCall): void;
  /** The upstream switched protocols: the worker slot is free (the hub got its credit back). */
  upgraded(call: UpgradeCall): void;
  /** The call is over: before a 101 its slot is free now; after one, the tunnel has ended. */
  finished(call: UpgradeCall): void;
}

/** The upgrade token a REQUEST carries, checked as a list of protocol tokens. */
const TOKEN_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z/-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z/-]+)*$/;

/**
 * One UPGRADE stream (protocol 3): the request goes to the upstream over node:http on a connection
 * of its own (undici does not hand back a socket for a refused upgrade; node:http gives either the
 * 101 and the socket, or an ordinary response). A 101 goes back as RESPONSE 101 with the upstream's
 * fields and `upgrade`, the slot is freed at once, and the socket is joined to the stream
 * (UpstreamTunnel). Any other answer is forwarded as an ordinary response, within the windows.
 */
export class UpgradeCall implements StreamCall {
  readonly streamId: number;
  readonly #host: UpgradeCallHost;
  readonly #deps: CallDeps;
  readonly #frame: RequestFrame;
  #req: ClientRequest | null = null;
  #response: IncomingMessage | null = null;
  #pump: DataPump | null = null;
  #tunnel: UpstreamTunnel | null = null;
  #earlyWindow = 0;
  #closed = false;
  #hubReset = false;
  #switched = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(host: UpgradeCallHost, frame: RequestFrame, deps: CallDeps) {
    this.#host = host;
    this.#deps = deps;
    this.#frame = frame;
    this.streamId = frame.streamId;
  }

  /** Whether the upstream switched protocols (the stream is a tunnel, the slot already free). */
  get switched(): boolean {
    return this.#switched;
  }

  start(): void {
    let protocols = '';
    for (const [name, value] of this.#frame.headers) if (name === 'upgrade') protocols = value;
    let request: ReturnType<typeof upstreamRequest>;
    try {
      if (!TOKEN_LIST.test(protocols)) throw new ProtocolError('ERR_PROTOCOL_BAD_VALUE', 'bad upgrade field');
      request = upstreamRequest(this.#frame, this.#deps.target, this.#deps.preserveHost);
    } catch (err) {
      this.#reset(
        ResetCode.PROTOCOL_ERROR,
        `upgrade request cannot be sent upstream: ${(err as Error).message}`,
      );
      return;
    }
    const url = new URL(this.#deps.target.origin);
    const headers = [...request.headers, 'connection', 'Upgrade', 'upgrade', protocols];
    if (!request.headers.includes('host')) headers.push('host', url.host);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send({
      protocol: url.protocol,
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      method: request.method,
      path: request.path,
      headers,
      agent: false,
    });
    this.#req = req;
    this.#timer = setTimeout(() => {
      const err = Object.assign(new Error('upstream sent no response head in time'), {
        code: 'UND_ERR_HEADERS_TIMEOUT',
      });
      req.destroy(err);
    }, this.#deps.headersTimeoutMs);
    req.once('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
      clearTimeout(this.#timer);
      this.#onSwitch(res, socket, head);
    });
    req.once('response', (res: IncomingMessage) => {
      clearTimeout(this.#timer);
      this.#onResponse(res);
    });
    req.once('error', (err) => {
      clearTimeout(this.#timer);
      this.#fail(err);
    });
    req.end();
  }

  #send(bytes: Uint8Array): void {
    if (!this.#closed) this.#host.send(bytes);
  }

  #onSwitch(res: IncomingMessage, socket: Socket, head: Buffer): void {
    if (this.#closed || this.#hubReset) {
      socket.destroy();
      return;
    }
    const upgrade = res.headers.upgrade ?? '';
    const headers = stripHopByHop(res.rawHeaders);
    if (upgrade !== '') headers.push(['upgrade', upgrade]);
    if (!this.#sendHead(socket, 101, headers)) return;
    this.#switched = true;
    this.#deps.onResult?.({ outcome: 'upgraded', status: 101 });
    this.#host.upgraded(this);
    if (head.byteLength > 0) socket.unshift(head);
    const host = this.#host;
    this.#tunnel = new UpstreamTunnel(
      this.streamId,
      {
        hubWindow: host.hubWindow + this.#earlyWindow,
        agentWindow: host.agentWindow,
        get congested() {
          return host.congested;
        },
        send: (b) => this.#send(b),
        waitForDrain: () => host.waitForDrain(this),
        onClosed: () => this.#finish(),
      },
      socket,
    );
  }

  /** The upstream refused the upgrade: its answer goes to the client as it is. */
  #onResponse(res: IncomingMessage): void {
    if (this.#closed || this.#hubReset) {
      res.destroy();
      return;
    }
    this.#response = res;
    if (!this.#sendHead(res, res.statusCode ?? 502, stripHopByHop(res.rawHeaders))) return;
    this.#deps.onResult?.({ outcome: 'ok', status: res.statusCode });
    const host = this.#host;
    const sink = callSink(
      host,
      () => host.waitForDrain(this),
      () => this.#closed,
    );
    this.#pump = pumpResponse(this.streamId, host.hubWindow + this.#earlyWindow, sink, res, {
      done: () => this.#finish(),
      failed: (err) => this.#fail(err),
    });
  }

  /** Sends the response head; false (the call reset) when it is past the protocol's limits. */
  #sendHead(upstream: { destroy(): void }, status: number, headers: HeaderList): boolean {
    const frame = responseFrame(this.streamId, status, headers);
    if (!(frame instanceof Error)) {
      this.#send(frame);
      return true;
    }
    upstream.destroy();
    this.#deps.log.warn({ err: frame.message, status }, 'upstream response head cannot be forwarded');
    this.#reset(ResetCode.UPSTREAM_ERROR, 'upstream response head exceeds protocol limits');
    return false;
  }

  resume(): void {
    if (this.#tunnel) this.#tunnel.resume();
    else this.#pump?.resume();
  }

  onData(data: Uint8Array): void {
    if (this.#closed) return;
    // Before the 101 the hub sends no bytes on an upgrade (docs/protocol.md §9.7).
    if (!this.#tunnel)
      throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `DATA before 101 on stream ${this.streamId}`);
    this.#tunnel.onData(data);
  }

  onEnd(): void {
    if (!this.#closed) this.#tunnel?.onEnd();
  }

  onTrailers(): void {
    throw new ProtocolError('ERR_PROTOCOL_STREAM_STATE', `TRAILERS on upgrade stream ${this.streamId}`);
  }

  onWindow(increment: number): void {
    if (this.#closed) return;
    if (this.#tunnel) this.#tunnel.onWindow(increment);
    else if (this.#pump) this.#pump.expand(increment);
    else this.#earlyWindow += increment;
  }

  /** The hub reset it: before the 101, abort and answer (that returns the credit); after, just end. */
  onReset(): void {
    if (this.#closed) return;
    if (this.#tunnel) {
      this.#tunnel.destroy();
      return;
    }
    this.#hubReset = true;
    this.#reset(ResetCode.CANCEL, 'cancelled by hub');
  }

  abandon(): void {
    if (this.#closed) return;
    this.#stopUpstream();
    this.#tunnel?.destroy();
    this.#finish();
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    const { code, reason } = upstreamFailed(err, this.#deps, {
      streamId: this.streamId,
      hubReset: this.#hubReset,
      beforeHead: this.#response === null,
      what: 'upstream upgrade failed',
    });
    this.#reset(code, reason);
  }

  #reset(code: ResetCodeValue, message: string): void {
    if (this.#closed) return;
    this.#stopUpstream();
    this.#send(encodeFrame({ type: 'RESET', streamId: this.streamId, code, message }));
    this.#finish();
  }

  #stopUpstream(): void {
    clearTimeout(this.#timer);
    this.#req?.destroy();
    this.#response?.destroy();
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#pump?.stop();
    this.#host.finished(this);
  }
}
