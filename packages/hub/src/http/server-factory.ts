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
import type { ParseError } from './client-errors.js';
import { adaptH2Request, adaptH2Response } from './h2-request.js';
import { PrefaceHandoff } from './h2c-preface.js';

export interface ClientServerOptions {
  /** Options of the HTTP/1.1 server (header limits and timeouts). */
  http: ServerOptions;
  /** Serve TLS with this certificate and key; h2 and http/1.1 are offered by ALPN. */
  tls?: TlsPair | undefined;
  /** Serve HTTP/2: by ALPN over TLS, by prior knowledge in cleartext. Default true. */
  http2?: boolean | undefined;
  /**
   * The HTTP/1.1 server's 'clientError' handling (a request its parser refused). The listener owns
   * the event: the HTTP/2 preface of a cleartext connection is taken over before this sees it.
   * Default: the connection is closed.
   */
  clientError?: ((err: ParseError, socket: Socket) => void) | undefined;
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
  const clientError = options.clientError ?? ((_err: ParseError, socket: Socket) => socket.destroy());
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
  // Cleartext HTTP/2 wraps it (below): the preface reaches the listener as a parser error.
  if (!h2Enabled || secure) server.on('clientError', clientError);
  if (!h2Enabled) return { server, secure, reloadTls: (pair) => reload(server, pair) };

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

  const toHttp2 = (socket: Socket) => h2.emit('connection', socket);
  if (secure) {
    // ALPN chose already; a client that offered nothing speaks HTTP/1.1
    const [http1] = server.listeners('secureConnection') as ((socket: Socket) => void)[];
    if (http1 === undefined) throw new Error('node:https registered no secureConnection listener');
    server.removeListener('secureConnection', http1);
    server.on('secureConnection', (socket: Socket) => {
      if ((socket as TLSSocket).alpnProtocol === 'h2') toHttp2(socket);
      else http1.call(server, socket);
    });
  } else {
    // Cleartext: Node's HTTP/1.1 parser reads every new connection natively and stops at the
    // HTTP/2 preface, which then moves to the HTTP/2 server (h2c-preface.ts says why not sniff).
    const handoff = new PrefaceHandoff({ toHttp2, otherwise: clientError, log });
    server.prependOnceListener('connection', (socket: Socket) => handoff.observe(socket));
    server.on('clientError', handoff.clientError);
  }

  const closeIdle = server.closeIdleConnections.bind(server);
  const closeAll = server.closeAllConnections.bind(server);
  server.closeIdleConnections = () => {
    closeIdle();
    // GOAWAY: streams under way finish, no new ones start
    for (const session of sessions) if (!session.closed) session.close();
  };
  server.closeAllConnections = () => {
    closeAll();
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
