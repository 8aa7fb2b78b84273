import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { ParseError } from './client-errors.js';

/** The client connection preface of HTTP/2 (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** What Node's HTTP/1.1 parser reports when a connection sends the HTTP/2 preface. */
const PREFACE_PARSER_CODE = 'HPE_PAUSED_H2_UPGRADE';

/** Events Node's HTTP/1.1 server listens to on each connection it serves (node:_http_server). */
const HTTP1_EVENTS = ['data', 'end', 'close', 'drain', 'error', 'timeout', 'resume', 'pause'] as const;
const CLOSE = HTTP1_EVENTS.indexOf('close');
/** Methods Node's HTTP/1.1 server overrides on each connection's socket object. */
const HTTP1_OVERRIDES = ['on', 'addListener', 'prependListener', 'setEncoding'] as const;

type ClientErrorHandler = (err: ParseError, socket: Socket) => void;

export interface PrefaceHandoffOptions {
  /** Serves a connection as HTTP/2 (the socket holds the preface and what followed it). */
  toHttp2: (socket: Socket) => void;
  /** Every other client error, and a preface that did not open its connection. */
  otherwise: ClientErrorHandler;
  log: Logger;
}

/**
 * Moves a cleartext connection that opened with the HTTP/2 preface from Node's HTTP/1.1 server to
 * an HTTP/2 server (prior knowledge, RFC 9113 §3.3).
 *
 * Why not read the first bytes ourselves: Node's HTTP/1.1 parser reads a connection natively
 * (libuv straight into llhttp) when it is attached at accept. A sniffer that reads the first chunk
 * in JavaScript and gives it back (`unshift`) pushed every new connection's first request twice
 * through the stream machinery and the JS parser path: 12-18 µs of hub CPU per connection and 15%
 * later response heads in a burst of 1,000 new connections (bench/probes/sse-hub-cpu.mjs,
 * `{"http2":false}` against the default). llhttp itself recognises the preface and stops with
 * HPE_PAUSED_H2_UPGRADE, which Node reports as a client error with the bytes of the current read.
 * Here Node's own per-connection HTTP/1.1 state is undone (its close handler frees the parser,
 * which stops consuming the socket, leaves the server's connection list and returns to its pool),
 * the listeners and overrides it attached are removed, and the preface plus whatever followed it
 * is put back for the HTTP/2 session, which reads a socket's buffered bytes first.
 *
 * Node's listeners are found as those beyond `baseline`: the listener counts of an accepted socket
 * before Node's 'connection' handler ran (the same for every accepted socket; see `observe`).
 * Nothing else listens on a connection before its first request, and the preface ends the
 * parser's first request, so everything past the baseline is Node's.
 */
export class PrefaceHandoff {
  #baseline: number[] | undefined;
  readonly #toHttp2: (socket: Socket) => void;
  readonly #otherwise: ClientErrorHandler;
  readonly #log: Logger;

  constructor(options: PrefaceHandoffOptions) {
    this.#toHttp2 = options.toHttp2;
    this.#otherwise = options.otherwise;
    this.#log = options.log;
  }

  /** Records an accepted socket's listener counts; call before Node's 'connection' handler runs. */
  observe(socket: Socket): void {
    this.#baseline ??= HTTP1_EVENTS.map((ev) => socket.listenerCount(ev));
  }

  /** The HTTP/1.1 server's 'clientError' listener: the preface is taken over, the rest passed on. */
  readonly clientError: ClientErrorHandler = (err, socket) => {
    if (err.code !== PREFACE_PARSER_CODE) {
      this.#otherwise(err, socket);
      return;
    }
    const taken = this.#take(err, socket);
    if (taken === 'handed-off') return;
    // the preface after an HTTP/1.1 request on the connection is a malformed request
    if (taken === 'not-first') {
      this.#otherwise(err, socket);
      return;
    }
    this.#log.warn('could not move an HTTP/2 prior-knowledge connection off the HTTP/1.1 server; closed');
    socket.destroy();
  };

  /**
   * Takes over a connection whose parser stopped at the preface. 'not-first': the preface did not
   * open the connection (an HTTP/1.1 request came first). 'failed': this Node's HTTP/1.1 server did
   * not let go of the socket as expected.
   */
  #take(err: ParseError, socket: Socket): 'handed-off' | 'not-first' | 'failed' {
    const raw = err.rawPacket;
    const parsed = err.bytesParsed;
    const baseline = this.#baseline;
    if (!Buffer.isBuffer(raw) || typeof parsed !== 'number' || baseline === undefined) return 'failed';
    // The preface must be the connection's first bytes: where it ended (bytes read before this
    // read, plus what the parser took of it) is its length.
    if (socket.bytesRead - raw.byteLength + parsed !== PREFACE.byteLength) return 'not-first';
    for (const fn of socket.listeners('close').slice(baseline[CLOSE])) (fn as () => void).call(socket);
    HTTP1_EVENTS.forEach((ev, i) => {
      for (const fn of socket.listeners(ev).slice(baseline[i])) {
        socket.removeListener(ev, fn as (...args: unknown[]) => void);
      }
    });
    for (const name of HTTP1_OVERRIDES) {
      if (Object.hasOwn(socket, name)) delete (socket as unknown as Record<string, unknown>)[name];
    }
    if ((socket as { parser?: unknown }).parser) return 'failed';
    const rest = raw.subarray(parsed);
    socket.pause();
    socket.unshift(rest.byteLength === 0 ? PREFACE : Buffer.concat([PREFACE, rest]));
    this.#toHttp2(socket);
    return 'handed-off';
  }
}
