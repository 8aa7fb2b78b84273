import type { ConcurrencyLimiter, Permit } from '../../src/shaping/index.js';
import { createSyntheticUpstream, seeded, type UpstreamModel } from './synthetic-upstream.js';

export interface Phase {
  durationMs: number;
  /** Offered load as a multiple of the upstream's best rate. */
  load: number;
  /** Upstream capacity during this phase (defaults to the model's). */
  capacity?: number;
}

export interface PhaseResult {
  goodputRatio: number;
  p99Ms: number;
  limitSamples: number[];
  finalLimit: number;
  admitted: number;
  rejected: number;
  errors: number;
}

/** The simulation's clock, for limiters that read time (`now: () => clock.t`). */
export interface SimClock {
  t: number;
}

/**
 * Drives a limiter (or none) in simulated time: arrivals at a steady rate with seeded jitter,
 * completions from the synthetic upstream, one event at a time in time order. Rejected requests
 * are shed (503 at the hub); only admitted ones count in latency.
 */
export function simulate(
  model: UpstreamModel,
  limiter: ConcurrencyLimiter | undefined,
  phases: Phase[],
  seed = 1,
  clock: SimClock = { t: 0 },
): PhaseResult[] {
  const random = seeded(seed);
  const upstream = createSyntheticUpstream({ ...model }, random);
  const pending: { at: number; permit: Permit | undefined; status: number; latencyMs: number }[] = [];
  const results: PhaseResult[] = [];
  let now = clock.t;

  const completeUntil = (t: number, lat: number[], counts: { ok: number; errors: number }) => {
    pending.sort((a, b) => a.at - b.at);
    while (pending.length > 0 && pending[0]!.at <= t) {
      const done = pending.shift()!;
      now = clock.t = done.at;
      if (done.status < 500) counts.ok++;
      else counts.errors++;
      lat.push(done.latencyMs);
      done.permit?.release({ latencyMs: done.latencyMs, outcome: done.status >= 500 ? 'error' : 'success' });
    }
  };

  for (const phase of phases) {
    if (phase.capacity !== undefined) upstream.setCapacity(phase.capacity);
    const end = now + phase.durationMs;
    const meanGap = model.serviceMs / model.capacity / phase.load;
    const lat: number[] = [];
    const counts = { ok: 0, errors: 0 };
    const limitSamples: number[] = [];
    let admitted = 0;
    let rejected = 0;
    let nextSample = now;
    let t = now;
    while (t < end) {
      completeUntil(t, lat, counts);
      now = clock.t = t;
      if (t >= nextSample) {
        if (limiter) limitSamples.push(limiter.limit);
        nextSample += 100;
      }
      const permit = limiter?.tryAcquire();
      if (limiter && !permit) rejected++;
      else {
        admitted++;
        const answer = upstream.send(t);
        pending.push({
          at: t + answer.latencyMs,
          permit,
          status: answer.status,
          latencyMs: answer.latencyMs,
        });
      }
      t += meanGap * (0.5 + random());
    }
    completeUntil(end, lat, counts);
    now = clock.t = end;
    lat.sort((a, b) => a - b);
    const best = (upstream.bestRate * phase.durationMs) / 1000;
    results.push({
      goodputRatio: counts.ok / best,
      p99Ms: lat[Math.floor(lat.length * 0.99)] ?? 0,
      limitSamples,
      finalLimit: limiter?.limit ?? Number.NaN,
      admitted,
      rejected,
      errors: counts.errors,
    });
  }
  // Requests still running when the run ends free their slots without a verdict, so the same
  // limiter can be driven again by another run.
  for (const p of pending) p.permit?.release({ latencyMs: 0, outcome: 'ignore' });
  return results;
}
