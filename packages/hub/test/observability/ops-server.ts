import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createOpsRoutes, type OpsRoutes, type OpsRoutesOptions } from '../../src/observability/index.js';

export interface OpsServer extends AsyncDisposable {
  url: string;
  ops: OpsRoutes;
  server: Server;
}

/** The ops routes on a bare node:http server on 127.0.0.1:0; anything else is 404. */
export async function startOpsServer(options: OpsRoutesOptions): Promise<OpsServer> {
  const ops = createOpsRoutes(options);
  const server = createServer((req, res) => {
    if (!ops.handle(req, res)) res.writeHead(404).end();
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ops,
    server,
    async [Symbol.asyncDispose]() {
      ops.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Reads the first `event: status` of an SSE response. */
export async function firstStatusEvent(res: Response): Promise<{ event: string; data: unknown }> {
  const [first] = await statusEvents(res, 1);
  return first!;
}

/** Reads the first `count` events of an SSE response, then cancels it. */
export async function statusEvents(
  res: Response,
  count: number,
): Promise<{ event: string; data: unknown }[]> {
  const out: { event: string; data: unknown }[] = [];
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) throw new Error('stream ended before a status event');
      buf += decoder.decode(value, { stream: true });
      let end = buf.indexOf('\n\n');
      while (end !== -1) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) out.push({ event, data: JSON.parse(data) });
        if (out.length === count) return out;
        end = buf.indexOf('\n\n');
      }
    }
  } finally {
    await reader.cancel();
  }
}
