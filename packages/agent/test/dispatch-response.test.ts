import { once } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from 'undici';
import { describe, expect, it } from 'vitest';
import { ABORTED } from '../src/call-signal.js';
import { DispatchResponse, type ResponseEvents } from '../src/dispatch-response.js';

const timeouts = { headersTimeoutMs: 5_000, bodyTimeoutMs: 5_000 };

describe('DispatchResponse abort (a hub RESET while the body streams)', () => {
  it('reports the shared ABORTED error, restores Error.stackTraceLimit and frees the client', async () => {
    const responses: ServerResponse[] = [];
    const server = createServer((_req, res) => {
      responses.push(res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = new Client(origin);
    try {
      const limit = Error.stackTraceLimit;
      const errors: Error[] = [];
      let head = 0;
      const done = new Promise<void>((resolve) => {
        const events: ResponseEvents = {
          onUpstreamInfo() {},
          onUpstreamHead() {
            head++;
            return true;
          },
          onUpstreamData() {
            response.abort();
            response.abort(); // idempotent: one error only
          },
          onUpstreamEnd() {},
          onUpstreamError(err) {
            errors.push(err);
            resolve();
          },
        };
        const response: DispatchResponse = new DispatchResponse(events, false);
        response.dispatch(client, { method: 'GET', path: '/', headers: [] }, null, timeouts);
      });
      await done;
      expect(head).toBe(1);
      expect(errors).toEqual([ABORTED]);
      expect(Error.stackTraceLimit).toBe(limit);
      // the aborted connection is replaced: the next request on the same client succeeds
      const next = await client.request({ method: 'GET', path: '/', headersTimeout: 5_000 });
      expect(next.statusCode).toBe(200);
      next.body.destroy();
    } finally {
      for (const res of responses) res.destroy();
      await client.destroy();
      server.close();
    }
  });
});
