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
});
