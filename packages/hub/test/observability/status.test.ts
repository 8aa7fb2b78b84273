import { describe, expect, it } from 'vitest';
import { createStatusSource } from '../../src/observability/status.js';

const hub = { agents: () => [], queueLength: 0, activeRequests: 0 };

describe('createStatusSource request figures', () => {
  it('gives the 5xx rate and share over the same window as the request rate', () => {
    let t = 0;
    let total = 0;
    let errors = 0;
    const status = createStatusSource({
      hub,
      requestsTotal: () => total,
      serverErrorsTotal: () => errors,
      now: () => t,
      rateWindowMs: 10_000,
    });
    expect(status().requests).toEqual({
      total: 0,
      perSecond: 0,
      errors: 0,
      errorsPerSecond: 0,
      errorShare: 0,
    });
    t = 4000;
    total = 40;
    errors = 10;
    expect(status().requests).toEqual({
      total: 40,
      perSecond: 10,
      errors: 10,
      errorsPerSecond: 2.5,
      errorShare: 0.25,
    });
    // 14 s: the first sample (t=0) leaves the window; only the last 10 s count
    t = 14_000;
    total = 140;
    errors = 10;
    expect(status().requests).toEqual({
      total: 140,
      perSecond: 10,
      errors: 10,
      errorsPerSecond: 0,
      errorShare: 0,
    });
    // no traffic: no share, not NaN
    t = 30_000;
    expect(status().requests).toMatchObject({ perSecond: 0, errorShare: 0 });
  });

  it('reports zeros without the counters', () => {
    expect(createStatusSource({ hub })().requests).toEqual({
      total: 0,
      perSecond: 0,
      errors: 0,
      errorsPerSecond: 0,
      errorShare: 0,
    });
  });
});
