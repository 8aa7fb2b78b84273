import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerOptions,
  type ServerResponse,
} from 'node:http';
import {
  createServer as createH2Server,
  type Http2Server,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { assertTlsPair, secureContextOptions, type TlsPair, tlsServerOptions } from '../tls/tls-options.js';
import { FirstByteDeadline } from './first-byte-deadline.js';
import { adaptH2Request, adaptH2Response } from './h2-request.js';

/** The client connection preface of HTTP/2 (RFC 9113 §3.4). */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

export interface ClientServerOptions {
  /** Options of the HTTP/1.1 server (header limits and timeouts). */
  http: ServerOptions;
  /** Serve TLS with this certificate and key; h2 and http/1.1 are offered by ALPN. */
  tls?: TlsPair | undefined;
  /** Serve HTTP/2: by ALPN over TLS, by prior knowledge in cleartext. Default true. */
  http2?: boolean | undefined;
  /** Longest wait for a new connection's first bytes, ms. Default 60000. */
  firstByteTimeoutMs?: number | undefined;
  log: Logger;
}

export interface ClientServer {
  /**
   * The listening server. Its 'request' event carries HTTP/1.x and HTTP/2 requests alike (the
   * latter adapted by adaptH2Request); 'upgrade', 'connect' and 'clientError' are HTTP/1.x only.
   * closeIdleConnections/closeAllConnections also cover HTTP/2 sessions.
   */
  readonly server: Server;
  readonly secure: boolean;
  /** Swaps certificate and key for new handshakes; open connections keep theirs. */
  reloadTls(pair: TlsPair): void;
}

/**
 * Builds the hub's application listener: HTTP/1.1, plus HTTP/2 on the same port (ALPN `h2` over
 * TLS, the connection preface in cleartext), optionally over TLS. Each HTTP/2 stream is handed to
 * the same 'request' listeners as an HTTP/1.1 request, so policies, Slime-Block and streaming work
 * the same; a stream reset closes its response, which aborts the request like a disconnect.
 *
 * @example
 * ```ts
 * const { server } = createClientServer({ http: {}, tls: { cert, key }, log });
 * server.on('request', handler);
 * server.listen(8443);
 * ```
 */
export function createClientServer(options: ClientServerOptions): ClientServer {
  const { log } = options;
  if (options.tls !== undefined) assertTlsPair(options.tls);
  const h2Enabled = options.http2 ?? true;
  const firstByteTimeoutMs = options.firstByteTimeoutMs ?? 60_000;
  const server: Server =
    options.tls === undefined
      ? createHttpServer(options.http)
      : createHttpsServer({
          ...options.http,
          ...tlsServerOptions(options.tls, h2Enabled ? ['h2', 'http/1.1'] : ['http/1.1']),
        });
  if (options.tls !== undefined) {
    server.on('tlsClientError', (err: Error & { code?: string }, socket: TLSSocket) => {
      log.debug({ err: err.message, code: err.code, remote: socket.remoteAddress }, 'TLS handshake failed');
    });
  }
  const secure = options.tls !== undefined;
  if (!h2Enabled) {
    return { server, secure, reloadTls: (pair) => reload(server, pair) };
  }

  const maxHeaderSize = options.http.maxHeaderSize ?? 16 * 1024;
  const h2: Http2Server = createH2Server({
    // Node's default allows 2^32-1 concurrent streams per connection: one client could queue
    // without bound; 256 is well above what browsers and gRPC channels open.
    settings: { maxHeaderListSize: maxHeaderSize, enablePush: false, maxConcurrentStreams: 256 },
    maxSendHeaderBlockLength: 64 * 1024,
  });
  // A session silent this long gets GOAWAY (streams under way still finish), as HTTP/1.1
  // keep-alive connections are closed after keepAliveTimeout.
  h2.setTimeout(options.http.keepAliveTimeout ?? 65_000);
  const sessions = new Set<ServerHttp2Session>();
  h2.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
    session.on('error', (err) => log.debug({ err: err.message }, 'HTTP/2 session error'));
  });
  h2.on('sessionError', (err: Error) => log.debug({ err: err.message }, 'HTTP/2 session error'));
  h2.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    server.emit('request', adaptH2Request(req), adaptH2Response(res));
  });
  h2.on('checkContinue', (req: Http2ServerRequest, res: Http2ServerResponse) => {
    const adapted = adaptH2Request(req);
    adaptH2Response(res);
    // the hub answers 100 on the first body read; without a listener it would answer at once
    if (server.listenerCount('checkContinue') > 0) server.emit('checkContinue', adapted, res);
    else {
      res.writeContinue();
      server.emit('request', adapted, res);
    }
  });

  // Connections whose protocol is not known yet (waiting for the first bytes in cleartext).
  const pending = new FirstByteDeadline({ timeoutMs: firstByteTimeoutMs });
  const event = secure ? 'secureConnection' : 'connection';
  const [http1] = server.listeners(event) as ((socket: Socket) => void)[];
  if (http1 === undefined) throw new Error(`node:http registered no ${event} listener`);
  server.removeListener(event, http1);
  const toHttp1 = (socket: Socket) => http1.call(server, socket);
  const toHttp2 = (socket: Socket) => h2.emit('connection', socket);
  server.on(event, (socket: Socket) => {
    if (secure) {
      // ALPN chose already; a client that offered nothing speaks HTTP/1.1
      if ((socket as TLSSocket).alpnProtocol === 'h2') toHttp2(socket);
      else toHttp1(socket);
      return;
    }
    sniff(socket);
  });

  function sniff(socket: Socket): void {
    const waiting = pending.add(socket);
    let seen: Buffer | null = null;
    const done = () => {
      pending.delete(waiting);
      socket.off('data', onData);
      socket.off('close', done);
      socket.off('error', done);
    };
    const onData = (chunk: Buffer) => {
      seen = seen === null ? chunk : Buffer.concat([seen, chunk]);
      const n = Math.min(seen.length, PREFACE.length);
      const isPreface = seen.compare(PREFACE, 0, n, 0, n) === 0;
      if (isPreface && n < PREFACE.length) return; // too early to tell
      done();
      if (isPreface) {
        // the session reads what is buffered on the socket itself; resuming would lose it
        socket.pause();
        socket.unshift(seen);
        toHttp2(socket);
      } else {
        // Still flowing: the parser Node attaches takes the handle's next reads natively, and the
        // bytes read here go to it at once (unshift into an empty flowing stream emits them),
        // where pause(), unshift() and resume() cost a tick and a second trip through the
        // stream's buffer per connection.
        toHttp1(socket);
        socket.unshift(seen);
      }
    };
    // `on`, not `once`: done() removes them, and `once` makes a wrapper per listener
    socket.on('data', onData);
    socket.on('close', done);
    socket.on('error', done);
  }

  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    pending.destroyAll();
    // GOAWAY: streams under way finish, no new ones start
    for (const session of sessions) if (!session.closed) session.close();
  };
  server.closeAllConnections = () => {
    closeAll();
    pending.destroyAll();
    for (const session of sessions) session.destroy();
  };
  return { server, secure, reloadTls: (pair) => reload(server, pair) };
}

function reload(server: Server, pair: TlsPair): void {
  if (!('setSecureContext' in server)) throw new TypeError('tls: this listener serves no TLS to reload');
  assertTlsPair(pair);
  (server as unknown as { setSecureContext(o: object): void }).setSecureContext(secureContextOptions(pair));
}

/**
 * An HTTP/1.1 listener, over TLS when a pair is given (the admin port: HTTP/2 buys operators'
 * curl and Prometheus nothing there). `reloadTls` as on the client listener.
 */
export function createPlainListener(
  tls: TlsPair | undefined,
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): { server: Server; reloadTls(pair: TlsPair): void } {
  if (tls !== undefined) assertTlsPair(tls, 'tls');
  const server: Server =
    tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer(tlsServerOptions(tls, ['http/1.1']), handler);
  return { server, reloadTls: (pair) => reload(server, pair) };
}
