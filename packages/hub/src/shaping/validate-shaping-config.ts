import type { ShapingConfig, ShapingGroupConfig, ValidationResult } from './shaping-config.js';
import { isObject, type Spec, section, toMs } from './shaping-fields.js';

/** Longest hold an upstream's Retry-After gets unless `upstreamRetryAfter.maxMs` says otherwise. */
export const DEFAULT_RETRY_AFTER_MAX_MS = 10_000;

const LIMITER: Spec = {
  mode: { kind: 'string' },
  min: { kind: 'int', min: 1 },
  max: { kind: 'int', min: 1 },
  initial: { kind: 'int', min: 1 },
  limit: { kind: 'int', min: 1 },
  backoffRatio: { kind: 'number', min: 0.5, max: 0.99 },
  latencyThresholdMs: { kind: 'duration', min: 0, above: true },
  tolerance: { kind: 'number', min: 1, max: 2 },
  smoothing: { kind: 'number', min: 0, max: 1, above: true },
  minWindowSamples: { kind: 'int', min: 1 },
  probeIntervalWindows: { kind: 'int', min: 2 },
  probeRatio: { kind: 'number', min: 0, max: 0.99, above: true },
  cliffProbeMs: { kind: 'duration', min: 0 },
};
const PACING: Spec = {
  windowMs: { kind: 'duration', min: 20 },
  errorThreshold: { kind: 'number', min: 0, max: 1, above: true },
  minSamples: { kind: 'int', min: 1 },
  minSpacingMs: { kind: 'duration', min: 0, above: true },
  maxSpacingMs: { kind: 'duration', min: 0, above: true },
  growFactor: { kind: 'number', min: 1, above: true },
  stepMs: { kind: 'duration', min: 1 },
  quietPeriodMs: { kind: 'duration', min: 1 },
  bypassCriticalPlus: { kind: 'bool' },
};
const JITTER: Spec = {
  maxDelayMs: { kind: 'duration', min: 0, above: true },
  maxCanWaitMs: { kind: 'duration', min: 0, above: true },
};
const SIGNAL: Spec = {
  url: { kind: 'string' },
  queries: { kind: 'string' }, // checked by hand below
  intervalMs: { kind: 'duration', min: 1 },
  timeoutMs: { kind: 'duration', min: 1 },
  minFactor: { kind: 'number', min: 0, max: 1, above: true },
};
const RETRY_THROTTLED: Spec = {
  on: { kind: 'string' }, // checked by hand below
  attempts: { kind: 'int', min: 1, max: 10 },
  fastRatio: { kind: 'number', min: 0, max: 1, above: true },
  maxLatencyMs: { kind: 'duration', min: 0, above: true },
  nonIdempotent: { kind: 'bool' },
};
const UPSTREAM_RETRY_AFTER: Spec = { maxMs: { kind: 'duration', min: 1 } };
const GROUP_KEYS = [
  'match',
  'per',
  'retryAfterSeconds',
  'limiter',
  'pacing',
  'jitter',
  'signal',
  'retryThrottled',
  'upstreamRetryAfter',
];

/**
 * Validates the `shaping` section of a policy file. Reports every problem at once, each with its
 * path, so an operator fixes a file in one pass:
 *
 * @example
 * const r = validateShapingConfig(doc.shaping);
 * if (!r.ok) throw new HubError('ERR_HUB_INVALID_POLICY', r.errors.join('; '));
 */
export function validateShapingConfig(raw: unknown, path = 'shaping'): ValidationResult<ShapingConfig> {
  const errors: string[] = [];
  const groups: ShapingGroupConfig[] = [];
  if (!isObject(raw)) return { ok: false, errors: [`${path} must be an object`] };
  for (const key of Object.keys(raw))
    if (key !== 'groups') errors.push(`${path}.${key} is not a known option (groups)`);
  if (!Array.isArray(raw.groups)) {
    errors.push(`${path}.groups must be an array`);
    return { ok: false, errors };
  }
  const scopes = new Map<string | undefined, number>();
  raw.groups.forEach((g: unknown, i: number) => {
    const at = `${path}.groups[${i}]`;
    if (!isObject(g)) {
      errors.push(`${at} must be an object`);
      return;
    }
    for (const key of Object.keys(g)) {
      if (!GROUP_KEYS.includes(key))
        errors.push(`${at}.${key} is not a known option (${GROUP_KEYS.join(', ')})`);
    }
    const group: ShapingGroupConfig = { match: {}, per: 'group', retryAfterSeconds: 1 };
    if (g.match !== undefined) {
      const m = section(g.match, `${at}.match`, { scope: { kind: 'string' } }, errors);
      if (typeof m.scope === 'string') group.match.scope = m.scope;
    }
    const prev = scopes.get(group.match.scope);
    if (prev !== undefined) {
      const what =
        group.match.scope === undefined
          ? 'the default group (no match.scope)'
          : `scope "${group.match.scope}"`;
      errors.push(`${at}.match repeats ${what} of ${path}.groups[${prev}]`);
    } else scopes.set(group.match.scope, i);
    if (g.per !== undefined) {
      if (g.per === 'group' || g.per === 'agent') group.per = g.per;
      else errors.push(`${at}.per must be 'group' or 'agent'`);
    }
    if (g.retryAfterSeconds !== undefined) {
      const r = g.retryAfterSeconds;
      if (typeof r === 'number' && Number.isInteger(r) && r >= 1) group.retryAfterSeconds = r;
      else errors.push(`${at}.retryAfterSeconds must be an integer >= 1`);
    }
    if (g.limiter !== undefined) checkLimiter(g.limiter, `${at}.limiter`, errors, group);
    if (g.pacing !== undefined) {
      const p = section(g.pacing, `${at}.pacing`, PACING, errors);
      const lo = (p.minSpacingMs as number | undefined) ?? 50;
      if (p.maxSpacingMs !== undefined && (p.maxSpacingMs as number) < lo) {
        errors.push(`${at}.pacing.maxSpacingMs (${p.maxSpacingMs}) must be >= minSpacingMs (${lo})`);
      }
      const step = (p.stepMs as number | undefined) ?? 1000;
      if (p.quietPeriodMs !== undefined && (p.quietPeriodMs as number) < step) {
        errors.push(`${at}.pacing.quietPeriodMs must be >= stepMs (${step})`);
      }
      group.pacing = p;
    }
    if (g.jitter !== undefined) {
      const zero =
        isObject(g.jitter) && (g.jitter.maxDelayMs === undefined || toMs(g.jitter.maxDelayMs) === 0);
      if (zero)
        errors.push(`${at}.jitter needs a maxDelayMs > 0 (jitter with zero delay does nothing; remove it)`);
      const j = section(g.jitter, `${at}.jitter`, JITTER, errors, zero ? ['maxDelayMs'] : []);
      if (
        j.maxCanWaitMs !== undefined &&
        j.maxDelayMs !== undefined &&
        (j.maxCanWaitMs as number) < (j.maxDelayMs as number)
      ) {
        errors.push(`${at}.jitter.maxCanWaitMs must be >= maxDelayMs`);
      }
      if (typeof j.maxDelayMs === 'number') group.jitter = { ...j, maxDelayMs: j.maxDelayMs };
    }
    if (g.signal !== undefined) checkSignal(g.signal, `${at}.signal`, errors, group);
    if (g.retryThrottled !== undefined) {
      checkRetryThrottled(g.retryThrottled, `${at}.retryThrottled`, errors, group);
      if (g.limiter === undefined)
        errors.push(`${at}.retryThrottled re-queues behind a concurrency limit: the group needs a limiter`);
    }
    if (g.upstreamRetryAfter === false) group.upstreamRetryAfter = false;
    else if (
      g.upstreamRetryAfter !== undefined &&
      !isObject(g.upstreamRetryAfter) &&
      g.upstreamRetryAfter !== true
    )
      errors.push(`${at}.upstreamRetryAfter must be false or an object ({ maxMs })`);
    else if (isObject(g.upstreamRetryAfter)) {
      const r = section(g.upstreamRetryAfter, `${at}.upstreamRetryAfter`, UPSTREAM_RETRY_AFTER, errors);
      group.upstreamRetryAfter = { maxMs: (r.maxMs as number | undefined) ?? DEFAULT_RETRY_AFTER_MAX_MS };
    }
    if (g.limiter === undefined && g.pacing === undefined && g.jitter === undefined) {
      errors.push(`${at} shapes nothing: give it a limiter, pacing or jitter`);
    }
    if (g.signal !== undefined && g.limiter === undefined) {
      errors.push(`${at}.signal caps a concurrency limit: the group needs a limiter`);
    }
    groups.push(group);
  });
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value: { groups } };
}

function checkLimiter(raw: unknown, at: string, errors: string[], group: ShapingGroupConfig): void {
  const l = section(raw, at, LIMITER, errors);
  if (!isObject(raw)) return;
  const mode = l.mode;
  if (mode !== 'aimd' && mode !== 'gradient' && mode !== 'fixed') {
    errors.push(`${at}.mode must be 'aimd', 'gradient' or 'fixed'`);
    return;
  }
  const only: Record<string, string[]> = {
    aimd: ['latencyThresholdMs'],
    gradient: ['tolerance', 'smoothing', 'minWindowSamples', 'probeIntervalWindows', 'probeRatio'],
  };
  for (const [m, keys] of Object.entries(only)) {
    for (const k of keys)
      if (mode !== m && raw[k] !== undefined) errors.push(`${at}.${k} applies to mode '${m}' only`);
  }
  if (mode === 'fixed') {
    if (l.limit === undefined) errors.push(`${at}.limit is required for mode 'fixed'`);
    for (const k of ['min', 'max', 'initial', 'backoffRatio', 'cliffProbeMs'])
      if (raw[k] !== undefined) errors.push(`${at}.${k} does not apply to mode 'fixed'`);
  } else if (raw.limit !== undefined) errors.push(`${at}.limit applies to mode 'fixed' only (use initial)`);
  const min = (l.min as number | undefined) ?? 1;
  const max = (l.max as number | undefined) ?? 1000;
  if (typeof l.max === 'number' && max < min) errors.push(`${at}.max (${max}) must be >= min (${min})`);
  if (typeof l.initial === 'number' && (l.initial < min || l.initial > max)) {
    errors.push(`${at}.initial (${l.initial}) must be within [min, max] = [${min}, ${max}]`);
  }
  group.limiter = { ...l, mode };
}

function checkSignal(raw: unknown, at: string, errors: string[], group: ShapingGroupConfig): void {
  const s = section(raw, at, SIGNAL, errors, ['queries']);
  if (!isObject(raw)) return;
  if (typeof s.url !== 'string' || !/^https?:\/\/[^/]/.test(s.url))
    errors.push(`${at}.url must be an http(s) URL`);
  const queries: { query: string; warn: number; emergency: number }[] = [];
  if (!Array.isArray(raw.queries) || raw.queries.length === 0) {
    errors.push(`${at}.queries must be a non-empty array`);
  } else {
    raw.queries.forEach((q: unknown, i: number) => {
      const qa = `${at}.queries[${i}]`;
      if (!isObject(q) || typeof q.query !== 'string' || q.query.length === 0) {
        errors.push(`${qa}.query must be a non-empty string`);
        return;
      }
      const { warn, emergency } = q;
      if (typeof warn !== 'number' || !Number.isFinite(warn)) errors.push(`${qa}.warn must be a number`);
      if (typeof emergency !== 'number' || !Number.isFinite(emergency))
        errors.push(`${qa}.emergency must be a number`);
      else if (warn === emergency) errors.push(`${qa}.emergency must differ from warn`);
      if (typeof warn === 'number' && typeof emergency === 'number')
        queries.push({ query: q.query, warn, emergency });
    });
  }
  if (typeof s.url === 'string') group.signal = { ...s, url: s.url, queries };
}

function checkRetryThrottled(raw: unknown, at: string, errors: string[], group: ShapingGroupConfig): void {
  const r = section(raw, at, RETRY_THROTTLED, errors, ['on']);
  if (!isObject(raw)) return;
  let on = [429, 500, 503];
  if (raw.on !== undefined) {
    const ok =
      Array.isArray(raw.on) &&
      raw.on.length > 0 &&
      raw.on.every((v) => typeof v === 'number' && Number.isInteger(v) && v >= 400 && v <= 599);
    if (ok) on = [...new Set(raw.on as number[])];
    else errors.push(`${at}.on must be a non-empty list of HTTP statuses in 400-599`);
  }
  group.retryThrottled = {
    on,
    attempts: (r.attempts as number | undefined) ?? 2,
    nonIdempotent: r.nonIdempotent === true,
    ...(r.fastRatio === undefined ? {} : { fastRatio: r.fastRatio as number }),
    ...(r.maxLatencyMs === undefined ? {} : { maxLatencyMs: r.maxLatencyMs as number }),
  };
}
