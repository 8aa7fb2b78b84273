import { describe, expect, test } from 'vitest';
import { validateShapingConfig } from '../../src/shaping/index.js';

describe('validateShapingConfig', () => {
  // #16: the shaping section reads the one duration grammar, days and weeks included.
  test.each([
    ['1m30s', 90_000],
    ['.5s', 500],
    ['1d', 86_400_000],
    ['2w', 1_209_600_000],
  ])('a duration written %j is %d ms', (text, ms) => {
    const r = validateShapingConfig({
      groups: [{ limiter: { mode: 'fixed', limit: 1 }, upstreamRetryAfter: { maxMs: text } }],
    });
    expect(r.ok && r.value.groups[0]?.upstreamRetryAfter).toEqual({ maxMs: ms });
  });

  test.each(['30', '2 s', '-1s', 'soon'])('a duration written %j is refused', (text) => {
    expect(
      validateShapingConfig({
        groups: [{ limiter: { mode: 'fixed', limit: 1 }, upstreamRetryAfter: { maxMs: text } }],
      }).ok,
    ).toBe(false);
  });

  test('accepts a full config and normalizes durations to ms', () => {
    const r = validateShapingConfig({
      groups: [
        {
          match: { scope: 'gpu' },
          per: 'agent',
          limiter: {
            mode: 'aimd',
            min: 2,
            max: 64,
            initial: 8,
            backoffRatio: 0.8,
            latencyThresholdMs: '1.5s',
          },
          pacing: { minSpacingMs: '100ms', maxSpacingMs: 4000, bypassCriticalPlus: true },
          jitter: { maxDelayMs: 200, maxCanWaitMs: '10s' },
          signal: {
            url: 'http://prometheus:9090',
            queries: [{ query: 'avg(gpu_util)', warn: 0.8, emergency: 0.95 }],
            intervalMs: '15s',
          },
        },
        { limiter: { mode: 'gradient', tolerance: 1.2 } },
      ],
    });
    expect(r).toEqual({
      ok: true,
      value: {
        groups: [
          {
            match: { scope: 'gpu' },
            per: 'agent',
            retryAfterSeconds: 1,
            limiter: {
              mode: 'aimd',
              min: 2,
              max: 64,
              initial: 8,
              backoffRatio: 0.8,
              latencyThresholdMs: 1500,
            },
            pacing: { minSpacingMs: 100, maxSpacingMs: 4000, bypassCriticalPlus: true },
            jitter: { maxDelayMs: 200, maxCanWaitMs: 10_000 },
            signal: {
              url: 'http://prometheus:9090',
              queries: [{ query: 'avg(gpu_util)', warn: 0.8, emergency: 0.95 }],
              intervalMs: 15_000,
            },
          },
          { match: {}, per: 'group', retryAfterSeconds: 1, limiter: { mode: 'gradient', tolerance: 1.2 } },
        ],
      },
    });
  });

  test('reports every error at once, each with its path', () => {
    const r = validateShapingConfig({
      groups: [
        { match: { scope: 'a' }, limiter: { mode: 'aimd', min: 0, backoffRatio: 0.2 } },
        { match: { scope: 'b' }, limiter: { mode: 'aimd', min: 10, max: 5 }, jitter: { maxDelayMs: 0 } },
        { match: { scope: 'a' }, pacing: { minSpacingMs: 500, maxSpacingMs: 100, windowMs: 'soon' } },
        { limiter: { mode: 'vegas' }, colour: 'red' },
        { signal: { url: 'ftp://x', queries: [{ query: 'q', warn: 1, emergency: 1 }] } },
        { limiter: { mode: 'gradient', latencyThresholdMs: 100, initial: 2000 } },
      ],
      extra: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors).toEqual(
      expect.arrayContaining([
        'shaping.extra is not a known option (groups)',
        'shaping.groups[0].limiter.min must be >= 1',
        'shaping.groups[0].limiter.backoffRatio must be >= 0.5',
        'shaping.groups[1].limiter.max (5) must be >= min (10)',
        'shaping.groups[1].jitter needs a maxDelayMs > 0 (jitter with zero delay does nothing; remove it)',
        'shaping.groups[2].match repeats scope "a" of shaping.groups[0]',
        'shaping.groups[2].pacing.windowMs must be a duration (ms, or a string like "250ms")',
        'shaping.groups[2].pacing.maxSpacingMs (100) must be >= minSpacingMs (500)',
        "shaping.groups[3].limiter.mode must be 'aimd', 'gradient' or 'fixed'",
        expect.stringMatching(/^shaping\.groups\[3\]\.colour is not a known option/),
        'shaping.groups[4].match repeats the default group (no match.scope) of shaping.groups[3]',
        'shaping.groups[4].signal.url must be an http(s) URL',
        'shaping.groups[4].signal.queries[0].emergency must differ from warn',
        'shaping.groups[4] shapes nothing: give it a limiter, pacing or jitter',
        'shaping.groups[4].signal caps a concurrency limit: the group needs a limiter',
        "shaping.groups[5].limiter.latencyThresholdMs applies to mode 'aimd' only",
        'shaping.groups[5].limiter.initial (2000) must be within [min, max] = [1, 1000]',
      ]),
    );
    expect(r.errors).toHaveLength(18);
  });

  test('retryThrottled, upstreamRetryAfter and cliffProbeMs: defaults, durations and every error', () => {
    const r = validateShapingConfig({
      groups: [
        {
          match: { scope: 'a' },
          limiter: { mode: 'aimd', cliffProbeMs: '2s' },
          retryThrottled: {},
          upstreamRetryAfter: { maxMs: '30s' },
        },
        {
          limiter: { mode: 'gradient', cliffProbeMs: 0 },
          retryThrottled: {
            on: [503, 429, 503],
            attempts: 3,
            fastRatio: 0.3,
            maxLatencyMs: '20ms',
            nonIdempotent: true,
          },
          upstreamRetryAfter: false,
        },
      ],
    });
    expect(r).toEqual({
      ok: true,
      value: {
        groups: [
          {
            match: { scope: 'a' },
            per: 'group',
            retryAfterSeconds: 1,
            limiter: { mode: 'aimd', cliffProbeMs: 2000 },
            retryThrottled: { on: [429, 500, 503], attempts: 2, nonIdempotent: false },
            upstreamRetryAfter: { maxMs: 30_000 },
          },
          {
            match: {},
            per: 'group',
            retryAfterSeconds: 1,
            limiter: { mode: 'gradient', cliffProbeMs: 0 },
            retryThrottled: {
              on: [503, 429],
              attempts: 3,
              fastRatio: 0.3,
              maxLatencyMs: 20,
              nonIdempotent: true,
            },
            upstreamRetryAfter: false,
          },
        ],
      },
    });
    const bad = validateShapingConfig({
      groups: [
        {
          match: { scope: 'a' },
          pacing: {},
          retryThrottled: { on: [200], attempts: 0, fastRatio: 2, colour: 1 },
          upstreamRetryAfter: 5,
        },
        {
          limiter: { mode: 'fixed', limit: 2, cliffProbeMs: 100 },
          retryThrottled: { on: [], nonIdempotent: 'yes' },
          upstreamRetryAfter: { maxMs: 0 },
        },
      ],
    });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.errors.sort()).toEqual(
      [
        'shaping.groups[0].retryThrottled.on must be a non-empty list of HTTP statuses in 400-599',
        'shaping.groups[0].retryThrottled.attempts must be >= 1',
        'shaping.groups[0].retryThrottled.fastRatio must be <= 1',
        'shaping.groups[0].retryThrottled.colour is not a known option (on, attempts, fastRatio, maxLatencyMs, nonIdempotent)',
        'shaping.groups[0].retryThrottled re-queues behind a concurrency limit: the group needs a limiter',
        'shaping.groups[0].upstreamRetryAfter must be false or an object ({ maxMs })',
        "shaping.groups[1].limiter.cliffProbeMs does not apply to mode 'fixed'",
        'shaping.groups[1].retryThrottled.on must be a non-empty list of HTTP statuses in 400-599',
        'shaping.groups[1].retryThrottled.nonIdempotent must be a boolean',
        'shaping.groups[1].upstreamRetryAfter.maxMs must be >= 1',
      ].sort(),
    );
  });

  test('uses the caller’s path and rejects non-objects', () => {
    expect(validateShapingConfig('x', 'policy.shaping')).toEqual({
      ok: false,
      errors: ['policy.shaping must be an object'],
    });
    expect(validateShapingConfig({ groups: {} })).toEqual({
      ok: false,
      errors: ['shaping.groups must be an array'],
    });
    const r = validateShapingConfig({ groups: [{ limiter: { mode: 'fixed' }, per: 'host' }] }, 'p');
    expect(r).toEqual({
      ok: false,
      errors: [
        "p.groups[0].per must be 'group' or 'agent'",
        "p.groups[0].limiter.limit is required for mode 'fixed'",
      ],
    });
  });
});
