import { Writable } from 'node:stream';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatStatus } from '../packages/cli/src/commands/hub-status.js';
import { hashAppKey } from '../packages/hub/src/apps/app-keys.js';
import { deferred, startAgent, startHub, startUpstream } from './helpers/harness.js';

const TOKEN = 'apps-status-token';
const keyOf = (app: string) => `slime_app_status-test-${app}-0123456789abcdef`;
const cleanups: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('applications in status, metrics and the access log', () => {
  it('shows per-app in flight, queued and served; labels metrics and access lines with the app', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(
      { level: 'info' },
      new Writable({
        write(chunk, _enc, cb) {
          for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
          cb();
        },
      }),
    );
    const gate = deferred();
    const upstream = await startUpstream(async (req, res) => {
      if (req.url === '/hold') await gate.promise;
      res.end('ok');
    });
    const test = await startHub({
      logger,
      policy: {
        apps: [
          { name: 'chat', weight: 3, keys: [{ hash: hashAppKey(keyOf('chat')) }] },
          { name: 'batch', keys: [{ hash: hashAppKey(keyOf('batch')) }] },
        ],
      },
      admin: { token: TOKEN, port: 0 },
    });
    const { metrics } = test.hub;
    const agent = await startAgent(test, upstream, { numWorker: 1 });
    cleanups.push(
      () => upstream.close(),
      () => test.hub.close(),
      () => agent.agent.close(),
    );

    const send = (app: string, path: string) =>
      request(`${test.url}${path}`, { headers: { 'slime-block': '1', 'slime-app-key': keyOf(app) } }).then(
        async (r) => {
          await r.body.dump();
          return r.statusCode;
        },
      );
    expect(await send('chat', '/a')).toBe(200);
    expect(await send('chat', '/b')).toBe(200);
    const held = send('batch', '/hold');
    await vi.waitFor(() => expect(upstream.inFlight).toBe(1));
    const waiting = send('chat', '/c');
    await vi.waitFor(() => expect(test.hub.queueLength).toBe(1));

    const res = await fetch(`${test.hub.adminAddress!.url}/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const status = (await res.json()) as { apps: unknown[] };
    expect(status.apps).toEqual([
      { app: 'batch', weight: 1, inFlight: 1, queued: 0, served: 0 },
      { app: 'chat', weight: 3, inFlight: 0, queued: 1, served: 2 },
    ]);
    const text = formatStatus(status as Parameters<typeof formatStatus>[0]);
    expect(text).toMatch(
      /APP\s+WEIGHT\s+INFLIGHT\s+QUEUED\s+SERVED\nbatch\s+1\s+1\s+0\s+0\nchat\s+3\s+0\s+1\s+2\n/,
    );

    const exposition = await metrics.metrics();
    expect(exposition).toContain('slime_app_in_flight_requests{app="batch"} 1');
    expect(exposition).toContain('slime_app_queued_requests{app="chat"} 1');
    expect(exposition).toContain('slime_app_requests_total{app="chat",status_class="2xx"} 2');

    gate.resolve();
    expect(await Promise.all([held, waiting])).toEqual([200, 200]);
    await vi.waitFor(() => expect(lines.filter((l) => l.msg === 'request')).toHaveLength(4));
    const apps = lines.filter((l) => l.msg === 'request').map((l) => `${l.app} ${l.path}`);
    expect(apps.sort()).toEqual(['batch /hold', 'chat /a', 'chat /b', 'chat /c']);
    // the key never reaches a log line
    expect(JSON.stringify(lines)).not.toContain(keyOf('chat'));
  });
});
