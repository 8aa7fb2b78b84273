import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

export interface WsUpstream extends AsyncDisposable {
  url: string;
  server: Server;
  wss: WebSocketServer;
  /** Sockets the upstream accepted, newest last. */
  sockets: WebSocket[];
  /** The upgrade requests that reached it. */
  requests: IncomingMessage[];
  close(): Promise<void>;
}

/**
 * A real `ws` echo server on 127.0.0.1:0: echoes every message (text stays text), answers
 * `close:<code>` by closing with that code, and picks the first subprotocol it is offered from
 * `protocols`. Plain HTTP requests get `plain <method> <url>`; `refuse` answers upgrades on a path.
 */
export async function startWsUpstream(
  options: {
    protocols?: string[];
    /** Upgrade requests on this path are refused with 403 and a JSON body. */
    refusePath?: string;
    /** Let the test drive the socket instead of echoing. */
    echo?: boolean;
  } = {},
): Promise<WsUpstream> {
  const server = createServer((req, res) => {
    res.end(`plain ${req.method} ${req.url}`);
  });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: 64 * 1024 * 1024,
    handleProtocols: (offered) => {
      for (const p of options.protocols ?? []) if (offered.has(p)) return p;
      return false;
    },
  });
  const up: WsUpstream = {
    url: '',
    server,
    wss,
    sockets: [],
    requests: [],
    async close() {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      server.close();
    },
    [Symbol.asyncDispose]() {
      return up.close();
    },
  };
  server.on('upgrade', (req, socket, head) => {
    up.requests.push(req);
    if (options.refusePath && req.url === options.refusePath) {
      const body = JSON.stringify({ error: 'not here', path: req.url });
      socket.end(
        'HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nX-Upstream: refused\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      up.sockets.push(ws);
      if (options.echo === false) return;
      ws.on('message', (data, isBinary) => {
        const text = isBinary ? '' : data.toString();
        if (text.startsWith('close:')) {
          const [, code, reason] = text.split(':');
          ws.close(Number(code), reason ?? '');
          return;
        }
        ws.send(data, { binary: isBinary });
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return up;
}

/** Opens a `ws` client and waits for the handshake (or its failure). */
export async function openWs(
  url: string,
  protocols?: string | string[],
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<WebSocket> {
  const ws = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024, ...options });
  await once(ws, 'open');
  return ws;
}

/** The next message on a client socket. */
export async function nextMessage(ws: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> {
  const [data, isBinary] = (await once(ws, 'message')) as [Buffer, boolean];
  return { data, isBinary };
}
