import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRedis, type TestRedis } from '../../../../test/helpers/redis.js';
import {
  addToRevocationFile,
  createFileRevocations,
  createRedisClient,
  createRedisRevocations,
  disconnectRevoked,
  waitReady,
} from '../../src/cluster/index.js';

let server: TestRedis;
const clients: Redis[] = [];
const dir = mkdtempSync(join(tmpdir(), 'slime-revoked-'));

beforeAll(async () => {
  server = await startRedis();
});
afterAll(async () => {
  for (const c of clients) c.disconnect();
  await server?.[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
});

async function client(): Promise<Redis> {
  const c = createRedisClient(server.url, { commandTimeoutMs: 2000 });
  clients.push(c);
  expect(await waitReady(c, 5000)).toBe(true);
  return c;
}

const claims = (jti: string, sub = 'gpu') => ({ jti, sub });

describe('redis revocations', () => {
  it('a revocation on one hub reaches the others at once; a later hub loads the list', async () => {
    const keyPrefix = 'rv1:';
    const a = createRedisRevocations({ redis: await client(), keyPrefix });
    const b = createRedisRevocations({ redis: await client(), keyPrefix });
    await a.start();
    await b.start();
    const changed = vi.fn();
    b.onChange(changed);
    await a.revoke({ kind: 'jti', value: 'token-1' });
    expect(a.isRevoked(claims('token-1'))).toBe(true);
    await vi.waitFor(() => expect(b.isRevoked(claims('token-1'))).toBe(true), { timeout: 1000, interval: 5 });
    expect(changed).toHaveBeenCalledTimes(1);
    await b.revoke({ kind: 'agent', value: 'rogue' });
    await vi.waitFor(() => expect(a.isRevoked(claims('any', 'rogue'))).toBe(true), {
      timeout: 1000,
      interval: 5,
    });
    expect(a.isRevoked(claims('token-2'))).toBe(false);
    const c = createRedisRevocations({ redis: await client(), keyPrefix });
    await c.start();
    expect(c.size).toBe(2);
    await Promise.all([a.close(), b.close(), c.close()]);
  });

  it('an unrevoke reaches every hub at once (they re-read the list)', async () => {
    const keyPrefix = 'rv4:';
    const a = createRedisRevocations({ redis: await client(), keyPrefix });
    const b = createRedisRevocations({ redis: await client(), keyPrefix });
    await a.start();
    await b.start();
    await a.revoke({ kind: 'agent', value: 'forgiven' });
    await a.revoke({ kind: 'jti', value: 'still-bad' });
    await vi.waitFor(() => expect(b.isRevoked(claims('x', 'forgiven'))).toBe(true), {
      timeout: 1000,
      interval: 5,
    });
    // the CLI's `slime hub unrevoke` does this from its own short-lived client
    const cli = createRedisRevocations({ redis: await client(), keyPrefix });
    expect(await cli.unrevoke({ kind: 'agent', value: 'forgiven' })).toBe(true);
    expect(await cli.unrevoke({ kind: 'agent', value: 'never-revoked' })).toBe(false);
    await vi.waitFor(() => expect(b.isRevoked(claims('x', 'forgiven'))).toBe(false), {
      timeout: 1000,
      interval: 5,
    });
    await vi.waitFor(() => expect(a.isRevoked(claims('x', 'forgiven'))).toBe(false), {
      timeout: 1000,
      interval: 5,
    });
    expect(b.isRevoked(claims('still-bad'))).toBe(true);
    await Promise.all([a.close(), b.close(), cli.close()]);
  });

  it('a hub whose subscription dropped reloads the list when it reconnects', async () => {
    const keyPrefix = 'rv3:';
    const a = createRedisRevocations({ redis: await client(), keyPrefix });
    const b = createRedisRevocations({ redis: await client(), keyPrefix });
    await a.start();
    await b.start();
    const admin = await client();
    await admin.client('KILL', 'TYPE', 'pubsub');
    await a.revoke({ kind: 'jti', value: 'missed' });
    await vi.waitFor(() => expect(b.isRevoked(claims('missed'))).toBe(true), { timeout: 3000, interval: 10 });
    await Promise.all([a.close(), b.close()]);
  });

  it('refuses bad entries with a clear error', async () => {
    const a = createRedisRevocations({ redis: await client(), keyPrefix: 'rv2:' });
    await expect(a.revoke({ kind: 'jti', value: '' })).rejects.toThrow(/value/);
    await expect(a.revoke({ kind: 'nope' as never, value: 'x' })).rejects.toThrow(/kind/);
    await a.close();
  });
});

describe('file revocations', () => {
  it('follows the file: entries added by another process apply within a second', async () => {
    const path = join(dir, 'a', 'revoked.json');
    const list = createFileRevocations({ path, pollMs: 50 });
    await list.start();
    expect(list.size).toBe(0);
    const changed = vi.fn();
    list.onChange(changed);
    await addToRevocationFile(path, { kind: 'jti', value: 'j1' });
    await addToRevocationFile(path, { kind: 'agent', value: 'gpu-9' });
    await vi.waitFor(() => expect(list.size).toBe(2), { timeout: 1000, interval: 10 });
    expect(list.isRevoked(claims('j1'))).toBe(true);
    expect(list.isRevoked(claims('x', 'gpu-9'))).toBe(true);
    expect(changed).toHaveBeenCalled();
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ jti: ['j1'], agents: ['gpu-9'] });
    await list.close();
  });

  it('a malformed file keeps the list in force and is logged', async () => {
    const path = join(dir, 'bad.json');
    writeFileSync(path, JSON.stringify({ jti: ['ok'] }));
    const errors: string[] = [];
    const logger = { error: (_: unknown, msg: string) => errors.push(msg) } as never;
    const list = createFileRevocations({ path, pollMs: 20, logger });
    await list.start();
    expect(list.isRevoked(claims('ok'))).toBe(true);
    writeFileSync(path, '{"jti": [1, 2]} trailing');
    await vi.waitFor(() => expect(errors).toHaveLength(1), { timeout: 1000, interval: 10 });
    expect(list.isRevoked(claims('ok'))).toBe(true);
    await list.close();
    await expect(addToRevocationFile(path, { kind: 'jti', value: 'z' })).rejects.toThrow();
    expect(() => createFileRevocations({ path: '' })).toThrow(/path/);
  });
});

describe('disconnectRevoked', () => {
  it('closes matching agents with 4005 now and when the list grows', async () => {
    const path = join(dir, 'd.json');
    const list = createFileRevocations({ path, pollMs: 20 });
    await list.start();
    const closed: string[] = [];
    const agents = [claims('j1', 'a'), claims('j2', 'b')];
    const hub = {
      closeAgents(match: (c: { jti: string; sub: string }) => boolean, code: number) {
        const hit = agents.filter(match);
        for (const h of hit) closed.push(`${h.jti}:${code}`);
        return hit.length;
      },
    };
    const counts: number[] = [];
    const stop = disconnectRevoked(hub as never, list, (c) => counts.push(c));
    expect(closed).toEqual([]);
    await list.revoke({ kind: 'agent', value: 'b' });
    expect(closed).toEqual(['j2:4005']);
    expect(counts).toEqual([1]);
    stop();
    await list.close();
  });
});
