import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Agent, type AgentOptions, createAgent } from '@slime/agent';
import { createHub, type Hub, type HubConfig, signAgentToken } from '@slime/hub';

export const SECRET = 'test-secret-do-not-use';

export interface TestUpstream extends AsyncDisposable {
  url: string;
  port: number;
  server: Server;
  /** Requests that reached the handler. */
  count: number;
  /** Requests being handled right now, and the most ever at once. */
  inFlight: number;
  maxInFlight: number;
  close(): Promise<void>;
}

/** A real HTTP upstream on 127.0.0.1:0 that counts requests and concurrency. */
export async function startUpstream(
  handler: (req: IncomingMessage, res: ServerResponse) => unknown,
): Promise<TestUpstream> {
  const server = createServer();
  const up = {
    url: '',
    port: 0,
    server,
    count: 0,
    inFlight: 0,
    maxInFlight: 0,
    async close() {
      server.closeAllConnections();
      server.close();
    },
    [Symbol.asyncDispose]() {
      return up.close();
    },
  } as TestUpstream;
  server.on('request', (req, res) => {
    up.count++;
    up.inFlight++;
    up.maxInFlight = Math.max(up.maxInFlight, up.inFlight);
    let done = false;
    const finish = () => {
      if (!done) {
        done = true;
        up.inFlight--;
      }
    };
    res.once('close', finish);
    Promise.resolve(handler(req, res)).catch((err) => {
      res.destroy(err as Error);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  up.port = (server.address() as AddressInfo).port;
  up.url = `http://127.0.0.1:${up.port}`;
  return up;
}

export interface TestHub extends AsyncDisposable {
  hub: Hub;
  url: string;
  port: number;
}

/** A hub as `slime hub run` assembles it (policy engine, metrics...), on 127.0.0.1:0. */
export async function startHub(config: Partial<HubConfig> = {}): Promise<TestHub> {
  const hub = createHub({
    secret: SECRET,
    host: '127.0.0.1',
    port: 0,
    drainTimeoutMs: 2000,
    metrics: { defaultMetrics: false },
    ...config,
  });
  const { url, port } = await hub.listen();
  return { hub, url, port, [Symbol.asyncDispose]: () => hub.close() };
}

export interface TestAgent extends AsyncDisposable {
  agent: Agent;
  token: string;
}

export async function startAgent(
  hub: { url: string },
  upstream: { url: string } | string,
  options: Partial<AgentOptions> & { name?: string; scopes?: string[]; scopePaths?: string[] } = {},
): Promise<TestAgent> {
  const { scopes, scopePaths, name = 'agent', ...rest } = options;
  const token =
    rest.token ??
    (await signAgentToken({
      secret: SECRET,
      name,
      ...(scopes ? { scopes } : {}),
      ...(scopePaths ? { scopePaths } : {}),
    }));
  const agent = createAgent({
    hub: hub.url,
    upstream: typeof upstream === 'string' ? upstream : upstream.url,
    reconnectBaseMs: 20,
    reconnectMaxMs: 200,
    ...rest,
    token,
  });
  agent.start();
  await agent.ready();
  return { agent, token, [Symbol.asyncDispose]: () => agent.close() };
}

/** Reads a whole stream into a Buffer. */
export async function readAll(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const c of stream) chunks.push(c);
  return Buffer.concat(chunks);
}

/** A deferred value, for holding upstream responses until a test releases them. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (v: T) => void;
  reject: (e: Error) => void;
} {
  let resolve!: (v: T) => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
