import { type ClientHttp2Session, connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import type { Client } from 'undici';
import { H2cConnection } from './h2c-upstream.js';

/**
 * The one HTTP/2 session the agent holds to an `h2c://` upstream, shared by its connections (one
 * per worker slot). gRPC clients hold one channel too: the upstream sees one TCP connection whose
 * streams it can batch, instead of one connection per slot. The session is opened on first use,
 * replaced after the upstream closed it, and closed when the last connection is.
 */
export class H2cSession {
  readonly #origin: string;
  #session: ClientHttp2Session | null = null;
  /** Why the current session failed (refused, reset), for the streams it took down. */
  #error: Error | null = null;
  /** A session closing gracefully after the last connection closed. */
  #closing: ClientHttp2Session | null = null;
  #users = 0;

  constructor(origin: string) {
    this.#origin = origin;
  }

  get error(): Error | null {
    return this.#error;
  }

  /** The live session, or a new one. */
  get(): ClientHttp2Session {
    const current = this.#session;
    if (current && !current.closed && !current.destroyed) return current;
    this.#error = null;
    // Nagle off: a request's HEADERS, DATA and end of stream (or trailers) are separate small
    // writes, and each waiting on the previous one's ACK (delayed 40 ms) would stall the call.
    const { hostname, port } = new URL(this.#origin);
    const session = connect(this.#origin, {
      createConnection: () =>
        netConnect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 80), noDelay: true }),
    });
    session.on('error', (err) => {
      if (this.#session === session) this.#error = err;
    });
    session.once('close', () => {
      if (this.#session === session) this.#session = null;
    });
    this.#session = session;
    return session;
  }

  acquire(): void {
    this.#users++;
  }

  /** One connection closed; the last one closes the session gracefully (streams finish). */
  release(): Promise<void> {
    this.#users = Math.max(0, this.#users - 1);
    const session = this.#session;
    if (this.#users > 0 || !session) return Promise.resolve();
    this.#session = null;
    this.#closing = session;
    if (session.closed) return Promise.resolve();
    return new Promise((resolve) => session.close(() => resolve()));
  }

  /** Every connection is gone and one was destroyed: the session goes at once. */
  destroyIfUnused(): void {
    if (this.#users > 0) return;
    this.#session?.destroy();
    this.#closing?.destroy();
    this.#session = null;
  }
}

/**
 * The `connect` of an agent's UpstreamConnections for an `h2c://` upstream: every connection it
 * builds for an origin shares one HTTP/2 session.
 */
export function h2cConnector(): (origin: string) => Client {
  const sessions = new Map<string, H2cSession>();
  return (origin) => {
    let shared = sessions.get(origin);
    if (!shared) {
      shared = new H2cSession(origin);
      sessions.set(origin, shared);
    }
    return new H2cConnection(origin, shared) as unknown as Client;
  };
}
