import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import { HubError } from '../../src/errors.js';
import { createJitterPolicy, parseCanWait } from '../../src/shaping/index.js';
import { fakeContext } from './fake-context.js';
import { seeded } from './synthetic-upstream.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs the policy and reports when next() was called, in fake ms since the start. */
async function delayOf(policy: ReturnType<typeof createJitterPolicy>, headers: Record<string, string> = {}) {
  const { ctx } = fakeContext(headers);
  const start = Date.now();
  let at = -1;
  const done = policy(ctx, async () => {
    at = Date.now() - start;
  });
  await vi.runAllTimersAsync();
  await done;
  return { at, noted: ctx.notes.jitterMs };
}

describe('createJitterPolicy', () => {
  test('delays are uniform in [0, maxDelayMs) and spread over the window', async () => {
    const policy = createJitterPolicy({ maxDelayMs: 200, random: seeded(5) });
    const delays: number[] = [];
    for (let i = 0; i < 200; i++) delays.push((await delayOf(policy)).at);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...delays)).toBeLessThan(200);
    // Spread, not bunched: every quarter of the window gets some.
    for (let q = 0; q < 4; q++) {
      expect(delays.filter((d) => d >= q * 50 && d < (q + 1) * 50).length).toBeGreaterThan(20);
    }
  });

  test('X-Can-Wait raises the window for that request, capped at maxCanWaitMs', async () => {
    const policy = createJitterPolicy({ maxDelayMs: 100, maxCanWaitMs: 5000, random: () => 0.999 });
    expect((await delayOf(policy)).at).toBe(99);
    expect((await delayOf(policy, { 'x-can-wait': '2s' })).at).toBe(1998);
    expect((await delayOf(policy, { 'x-can-wait': '250ms' })).at).toBe(249);
    expect((await delayOf(policy, { 'x-can-wait': '1.5' })).at).toBe(1498);
    expect((await delayOf(policy, { 'x-can-wait': '1h' })).at).toBe(4995);
    // It never lowers the configured window.
    expect((await delayOf(policy, { 'x-can-wait': '10ms' })).noted).toBe(99);
  });

  test.each(['soon', '-1s', '', '2 s', '1e3', '5d', 'ms'])(
    'malformed X-Can-Wait %j is a 400',
    async (value) => {
      const policy = createJitterPolicy({ maxDelayMs: 100, random: () => 0.5 });
      const { ctx } = fakeContext({ 'x-can-wait': value });
      const next = vi.fn(async () => {});
      const err = await policy(ctx, next).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect((err as HubError).status).toBe(400);
      expect((err as HubError).code).toBe('ERR_HUB_BAD_REQUEST');
      expect(next).not.toHaveBeenCalled();
    },
  );

  test('a client that leaves during its delay is never forwarded', async () => {
    const policy = createJitterPolicy({ maxDelayMs: 1000, random: () => 0.9 });
    const { ctx, abort } = fakeContext();
    const next = vi.fn(async () => {});
    const done = policy(ctx, next).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(300);
    abort();
    const err = await done;
    expect((err as HubError).code).toBe('ERR_HUB_CLIENT_GONE');
    await vi.runAllTimersAsync();
    expect(next).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0); // its timer was cleared, not left to fire
  });

  test('validates options', () => {
    expect(() => createJitterPolicy({ maxDelayMs: 0, random: Math.random })).toThrow(
      /maxDelayMs must be > 0/,
    );
    expect(() => createJitterPolicy({ maxDelayMs: 10, maxCanWaitMs: 5, random: Math.random })).toThrow(
      /maxCanWaitMs must be >= 10/,
    );
    expect(() => createJitterPolicy({ maxDelayMs: 10 } as never)).toThrow(/random must be a function/);
  });
});

describe('parseCanWait', () => {
  test.each([
    ['250ms', 250],
    ['2s', 2000],
    ['2', 2000],
    ['0.5', 500],
    ['1m30s', 90_000],
    [' 3s ', 3000],
  ])('%j -> %d ms', (value, ms) => {
    expect(parseCanWait(value)).toBe(ms);
  });
});
