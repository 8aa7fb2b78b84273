import { describe, expect, it } from 'vitest';
import { formatStatus } from '../src/commands/hub-status.js';

const base = {
  agents: [
    {
      name: 'gpu-1',
      id: 'gpu-1#1',
      scopes: ['gpu'],
      slots: 4,
      inFlight: 2,
      state: 'ready',
      connectedSeconds: 75,
      remoteAddress: '10.0.0.5',
    },
  ],
  queueLength: 3,
  activeRequests: 2,
  requests: { total: 10, perSecond: 1.5 },
};

describe('hub status output', () => {
  it('prints the agents table and the totals line', () => {
    const out = formatStatus(base);
    expect(out).toMatch(/^NAME\s+ID\s+SCOPES\s+SLOTS\s+INFLIGHT\s+STATE\s+HEALTH\s+SINCE\s+REMOTE\n/);
    expect(out).toContain('gpu-1  gpu-1#1  gpu     4      2         ready  ok      1m15s  10.0.0.5');
    expect(out).toContain('agents 1  queue 3  in flight 2  1.5 req/s');
    expect(out).not.toContain('GROUP');
  });

  it('shows an agent whose upstream is down, or that outlier ejection took out', () => {
    const out = formatStatus({
      ...base,
      agents: [
        { ...base.agents[0]!, health: 'upstream-down' },
        { ...base.agents[0]!, name: 'gpu-2', id: 'gpu-2#2', health: 'ejected' },
      ],
    });
    expect(out).toMatch(/gpu-1\s+gpu-1#1\s+gpu\s+4\s+2\s+ready\s+upstream-down\s+1m15s/);
    expect(out).toMatch(/gpu-2\s+gpu-2#2\s+gpu\s+4\s+2\s+ready\s+ejected\s+1m15s/);
  });

  it('adds the shaped groups when the hub shapes', () => {
    const out = formatStatus({
      ...base,
      shaping: [
        { group: 'gpu', mode: 'aimd', limit: 7.6, inFlight: 7, paced: true, spacingMs: 100, rejections: 12 },
        { group: '*', mode: 'none', inFlight: 0, paced: false, spacingMs: 0, rejections: 0 },
      ],
    });
    expect(out).toMatch(/GROUP\s+MODE\s+LIMIT\s+INFLIGHT\s+PACING\s+REFUSED\n/);
    expect(out).toMatch(/gpu\s+aimd\s+7\s+7\s+paced 100ms\s+12/);
    expect(out).toMatch(/\*\s+none\s+-\s+0\s+normal\s+0/);
  });

  it('adds the 5xx share to the totals line when the hub reports it', () => {
    const out = formatStatus({
      ...base,
      requests: { total: 10, perSecond: 1.5, errorShare: 0.125, errorsPerSecond: 0.2 },
    });
    expect(out).toContain('agents 1  queue 3  in flight 2  1.5 req/s  5xx 12.5%');
    expect(formatStatus({ ...base, requests: { total: 10, perSecond: 1.5, errorShare: 0 } })).toContain(
      '1.5 req/s  5xx 0.0%',
    );
    // a rare error must not read as none
    expect(formatStatus({ ...base, requests: { total: 10, perSecond: 1.5, errorShare: 0.0004 } })).toContain(
      '5xx 0.04%',
    );
  });

  it('shows the cliff, the Retry-After hold and the throttle retries of each shaped group', () => {
    const out = formatStatus({
      ...base,
      shaping: [
        {
          group: 'gpu',
          mode: 'aimd',
          limit: 11.8,
          inFlight: 11,
          paced: false,
          spacingMs: 0,
          rejections: 3,
          cliffLimit: 12.6,
          heldMs: 1499.2,
          retryAfterHolds: 4,
          throttleRetries: 17,
          throttleBoundMs: 41.7,
        },
        // a per-agent instance: no cliff yet, no hold, counters kept on the group
        {
          group: 'gpu/gpu-1',
          mode: 'aimd',
          limit: 5,
          inFlight: 5,
          paced: false,
          spacingMs: 0,
          rejections: 0,
          heldMs: 0,
          retryAfterHolds: 0,
          throttleRetries: 0,
        },
      ],
    });
    expect(out).toMatch(
      /GROUP\s+MODE\s+LIMIT\s+INFLIGHT\s+PACING\s+REFUSED\s+CLIFF\s+HOLD\s+HOLDS\s+RETRIED\s+FAST<\n/,
    );
    expect(out).toMatch(/gpu\s+aimd\s+11\s+11\s+normal\s+3\s+12\s+1500ms\s+4\s+17\s+42ms\n/);
    expect(out).toMatch(/gpu\/gpu-1\s+aimd\s+5\s+5\s+normal\s+0\s+-\s+-\s+0\s+0\s+-\n/);
  });

  it('leaves those columns out for a hub that does not report them', () => {
    const out = formatStatus({
      ...base,
      shaping: [
        { group: 'gpu', mode: 'fixed', limit: 4, inFlight: 1, paced: false, spacingMs: 0, rejections: 0 },
      ],
    });
    expect(out).toMatch(/GROUP\s+MODE\s+LIMIT\s+INFLIGHT\s+PACING\s+REFUSED\n/);
    expect(out).not.toContain('CLIFF');
  });
});
