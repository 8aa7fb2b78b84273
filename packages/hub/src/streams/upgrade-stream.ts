import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  type DataFrame,
  encodeFrame,
  ResetCode,
  type ResetCodeValue,
  type ResetFrame,
  type ResponseFrame,
  type TrailersFrame,
} from '@slime/protocol';
import { HubError } from '../errors.js';
import type { ProxyResponse, ResponseBody } from '../pipeline/context.js';
import type { AgentStream } from './agent-stream.js';
import { HubStream, type StreamHost, type StreamInit } from './hub-stream.js';
import { HubTunnel, type TunnelEnd } from './hub-tunnel.js';

/** What the hub learns about one client upgrade (metrics, the per-agent upgrade count). */
export interface UpgradeEvents {
  /** The stream was opened on `agentId`: it counts against that agent's upgrade limit from now on. */
  opened(agentId: string): void;
  /** The upstream answered 101: the stream is a tunnel now. */
  switched(agentId: string): void;
  bytes(direction: 'to_upstream' | 'to_client', bytes: number): void;
  /** The stream stopped counting: `refused` (a non-101 answer or a failure before it), or how the tunnel ended. */
  ended(agentId: string, how: TunnelEnd | 'not-switched'): void;
}

/** A client's request to switch protocols, as the stream carries it. */
export interface UpgradeInit {
  /** The client's `Upgrade` tokens (h2c removed), sent as the REQUEST's `upgrade` field. */
  protocols: string;
  events: UpgradeEvents;
}

/** The connection an upgrade runs on: a StreamHost that can also take the credit back at the 101. */
export interface UpgradeHost extends StreamHost {
  /** The 101 arrived: the credit returns now (the agent freed its worker slot), the stream stays. */
  upgraded(stream: AgentStream): void;
}

/**
 * A client request that asked to switch protocols. Until the agent's answer it is an ordinary
 * HubStream (a refusal, any non-101 status, is delivered to the client as it is). A 101 turns it
 * into a tunnel: the credit and the hub's --concurrent slot are released at once (a socket may
 * live for hours; it counts against the agent's --max-upgrades instead), and the body handed to
 * the client writer joins the client's socket to the stream (HubTunnel).
 */
export class UpgradeStream implements AgentStream, ResponseBody {
  readonly id: number;
  readonly response: Promise<ProxyResponse>;
  readonly #host: UpgradeHost;
  readonly #inner: HubStream;
  readonly #events: UpgradeEvents;
  #tunnel: HubTunnel | null = null;
  /** Frames that arrived between the 101 and the client writer taking the socket. */
  #early: Array<(t: HubTunnel) => void> = [];
  #switched = false;
  #tunnelDone = false;
  #done: (() => void) | null = null;
  #settledFns: Array<() => void> = [];
  #settled = false;
  #released = false;
  #lastActivity: number;
  #resolve!: (r: ProxyResponse) => void;

  constructor(host: UpgradeHost, id: number, init: StreamInit & { upgrade: UpgradeInit }) {
    this.#host = host;
    this.id = id;
    this.#events = init.upgrade.events;
    this.#lastActivity = host.now();
    this.#inner = new HubStream(host, id, { ...init, body: null });
    this.response = new Promise<ProxyResponse>((resolve, reject) => {
      this.#resolve = resolve;
      this.#inner.response.then(resolve, reject);
    });
    this.response.catch(() => {});
    this.#inner.onSettled(() => this.#settle());
    this.#events.opened(host.id);
  }

  get state(): AgentStream['state'] {
    return this.#switched ? 'upgraded' : this.#inner.state;
  }

  get lastActivity(): number {
    return this.#switched ? this.#lastActivity : this.#inner.lastActivity;
  }

  get failure(): HubError | null {
    return this.#inner.failure;
  }

  onSettled(fn: () => void): void {
    if (this.#settled) fn();
    else this.#settledFns.push(fn);
  }

  #settle(): void {
    if (this.#settled) return;
    this.#settled = true;
    // Without a 101 the stream ends with its inner one; a tunnel releases at its own end.
    if (!this.#switched) this.#release('not-switched');
    const fns = this.#settledFns;
    this.#settledFns = [];
    for (const fn of fns) fn();
  }

  #release(how: TunnelEnd | 'not-switched'): void {
    if (this.#released) return;
    this.#released = true;
    this.#events.ended(this.#host.id, how);
  }

  onResponse(frame: ResponseFrame): void {
    if (this.#switched) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'RESPONSE on an upgraded stream');
    if (frame.status === 101 && this.#inner.state === 'reset-sent') {
      // The 101 crossed our RESET: it returned the credit (the agent freed the slot when it sent
      // it); the agent ends its tunnel on our RESET without an answer.
      this.#host.streamClosed(this, 'returned');
      return;
    }
    if (frame.status !== 101 || this.#inner.state !== 'open') {
      this.#inner.onResponse(frame);
      return;
    }
    if (frame.endStream) {
      // A switch with nothing after it is not a switch: reset it, the client gets a 502.
      this.#inner.cancel(
        'a 101 that ends its stream',
        ResetCode.PROTOCOL_ERROR,
        new HubError('ERR_HUB_UPSTREAM_ERROR', 'the agent answered 101 and ended the stream at once'),
      );
      return;
    }
    this.#switched = true;
    this.#lastActivity = this.#host.now();
    this.#host.upgraded(this);
    this.#events.switched(this.#host.id);
    this.#settle();
    this.#resolve({ status: 101, headers: frame.headers, servedBy: this.#host.id, body: this });
  }

  #toTunnel(fn: (t: HubTunnel) => void): void {
    this.#lastActivity = this.#host.now();
    if (this.#tunnel) fn(this.#tunnel);
    else if (!this.#tunnelDone) this.#early.push(fn);
  }

  onData(frame: DataFrame): void {
    if (!this.#switched) {
      this.#inner.onData(frame);
      return;
    }
    // The window bounds what can wait here before the client writer takes the socket.
    const copy = new Uint8Array(frame.data);
    this.#toTunnel((t) => t.onData({ ...frame, data: copy }));
  }

  onEnd(): void {
    if (!this.#switched) {
      this.#inner.onEnd();
      return;
    }
    this.#toTunnel((t) => t.onEnd());
  }

  onTrailers(frame: TrailersFrame): void {
    if (this.#switched) throw new HubError('ERR_HUB_UPSTREAM_ERROR', 'TRAILERS on an upgraded stream');
    this.#inner.onTrailers(frame);
  }

  onWindow(increment: number): void {
    if (!this.#switched) {
      this.#inner.onWindow(increment);
      return;
    }
    this.#toTunnel((t) => t.onWindow(increment));
  }

  onReset(frame: ResetFrame): void {
    if (!this.#switched) this.#inner.onReset(frame);
    else this.#tunnelOr('agent-reset')?.onReset();
  }

  agentLost(reason: string): void {
    if (!this.#switched) this.#inner.agentLost(reason);
    else this.#tunnelOr('agent-lost')?.agentLost();
  }

  /** The tunnel; null when the client writer has not joined it yet: the stream then ends `how`. */
  #tunnelOr(how: TunnelEnd): HubTunnel | null {
    if (!this.#tunnel) this.#endEarly(how);
    return this.#tunnel;
  }

  cancel(reason: string, code: ResetCodeValue = ResetCode.CANCEL, error?: HubError): void {
    if (!this.#switched) {
      this.#inner.cancel(reason, code, error);
      return;
    }
    if (this.#tunnel) this.#tunnel.reset(code, reason);
    // the client left between the 101 and its writer taking the socket
    else this.#endEarly('client-reset', code, reason);
  }

  resume(): void {
    if (this.#tunnel) this.#tunnel.resume();
    else this.#inner.resume();
  }

  /** Nothing to pump before the 101: an upgrade request has no body. */
  start(): void {}

  /** The request deadline counts to the response head only: a tunnel has none. */
  expire(timeoutMs: number): void {
    if (!this.#switched) this.#inner.expire(timeoutMs);
  }

  /** The tunnel ended before the client writer took the socket. */
  #endEarly(how: TunnelEnd, code?: ResetCodeValue, reason?: string): void {
    if (this.#tunnelDone) return;
    this.#tunnelDone = true;
    this.#early = [];
    if (code !== undefined) this.#sendReset(code, reason ?? '');
    this.#closeTunnel(how);
  }

  #sendReset(code: ResetCodeValue, message: string): void {
    this.#host.send(encodeFrame({ type: 'RESET', streamId: this.id, code, message }));
  }

  #closeTunnel(how: TunnelEnd): void {
    this.#host.streamClosed(this, 'detached');
    this.#release(how);
    this.#done?.();
  }

  // ---- ResponseBody: the client writer hands over the socket after writing the 101 head ----

  /** Joins the client's socket to the stream; resolves when the tunnel is over (never rejects). */
  tunnel(socket: Duplex): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.#tunnelDone) {
        socket.destroy();
        resolve();
        return;
      }
      this.#done = resolve;
      const host = this.#host;
      const tunnel = new HubTunnel(
        this.id,
        {
          agentWindow: host.agentWindow,
          hubWindow: host.hubWindow,
          get congested() {
            return host.congested;
          },
          send: (b) => host.send(b),
          waitForDrain: () => host.waitForDrain(this),
          onBytes: (d, n) => this.#events.bytes(d, n),
          onClosed: (how) => {
            this.#tunnelDone = true;
            this.#tunnel = null;
            this.#closeTunnel(how);
          },
        },
        socket,
      );
      this.#tunnel = tunnel;
      const early = this.#early;
      this.#early = [];
      for (const fn of early) if (this.#tunnel) fn(tunnel);
    });
  }

  pipe(res: ServerResponse): Promise<void> {
    const socket = res.socket;
    if (!socket) return Promise.resolve();
    return this.tunnel(socket);
  }

  discard(reason: string): void {
    this.cancel(reason);
  }

  readAll(): Promise<Uint8Array> {
    this.cancel('an upgraded stream has no body to read');
    return Promise.reject(
      new HubError('ERR_HUB_UPGRADE_UNSUPPORTED', 'an upgraded stream cannot be spooled'),
    );
  }
}
