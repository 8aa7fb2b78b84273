import { Client } from 'undici';

/**
 * The socket options undici sets on every new connection (no Nagle, TCP keep-alive after 60 s),
 * given to the socket when it is made. undici sets them on the connecting socket itself, which
 * Node applies at once and then again when the connection is up: five setsockopt calls twice per
 * connection. Set here first, undici's own calls find them set and Node applies them once; a
 * burst of SSE streams (a new upstream connection each) paid ~5 system calls per stream for it.
 */
const SOCKET_OPTIONS = { noDelay: true, keepAlive: true, keepAliveInitialDelay: 60_000 };

export interface UpstreamConnectionsOptions {
  /** The upstream's origin, e.g. http://127.0.0.1:9000. */
  origin: string;
  /** The most connections ever open at once: the agent's worker slots. */
  size: number;
  /** Builds a connection; tests inject one to count them. */
  connect?: (origin: string) => Client;
}

/**
 * The agent's connections to its upstream: one undici `Client` per worker slot, lent to a call for
 * its whole life and given back when it ends.
 *
 * Why not an undici `Pool`: a request undici refuses synchronously (a header it will not send, a
 * target it cannot write) makes `Client.dispatch` return false, and the Pool reads that as "this
 * connection is busy" and waits for a `drain` that never comes. Each refusal silently took one of
 * the Pool's connections out of service until the agent hung (issue #15). A Client we lend out
 * ourselves has no such state: a refused request leaves it exactly as it was, and the lease always
 * comes back, whatever undici did.
 */
export class UpstreamConnections {
  readonly #origin: string;
  readonly #size: number;
  readonly #connect: (origin: string) => Client;
  /** Idle connections, most recently used last (reused first: its socket is warm). */
  readonly #idle: Client[] = [];
  readonly #all = new Set<Client>();
  /** Connections lent out now: a release checks its lease here, not by scanning the idle list. */
  readonly #lent = new Set<Client>();
  #closed = false;

  constructor(options: UpstreamConnectionsOptions) {
    if (!Number.isInteger(options.size) || options.size < 1) {
      throw new RangeError('size must be a positive integer');
    }
    this.#origin = options.origin;
    this.#size = options.size;
    this.#connect =
      options.connect ?? ((origin) => new Client(origin, { pipelining: 1, connect: SOCKET_OPTIONS }));
  }

  /** Connections lent out right now. */
  get leased(): number {
    return this.#lent.size;
  }

  /** Connections created so far (idle or leased); never above the size. */
  get created(): number {
    return this.#all.size;
  }

  /**
   * Lends a connection. The caller holds a worker slot, so there is always one: more leases than
   * slots is a bug, and throws rather than opening an extra connection to the upstream.
   */
  acquire(): Client {
    if (this.#closed) throw new Error('upstream connections are closed');
    let client = this.#idle.pop();
    if (!client) {
      if (this.#all.size >= this.#size) throw new Error('every upstream connection is already lent out');
      client = this.#connect(this.#origin);
      this.#all.add(client);
    }
    this.#lent.add(client);
    return client;
  }

  /** Takes a connection back; a second release of the same lease is ignored. */
  release(client: Client): void {
    if (!this.#lent.delete(client)) return;
    if (this.#closed || client.destroyed || client.closed) {
      this.#all.delete(client);
      if (!client.destroyed) void client.destroy().catch(() => {});
      return;
    }
    this.#idle.push(client);
  }

  /** Waits for the connections' requests to finish, then closes them. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#idle.length = 0;
    await Promise.all([...this.#all].map((c) => c.close().catch(() => {})));
  }

  destroy(): void {
    this.#closed = true;
    this.#idle.length = 0;
    for (const c of this.#all) void c.destroy().catch(() => {});
  }
}
