import { describe, expect, it, vi } from 'vitest';
import { HubError } from '../../src/errors.js';
import { createUpgradeLimits, type UpgradeCapableAgent } from '../../src/upgrade/upgrade-limits.js';

function agent(id: string, version: number, serves = true): UpgradeCapableAgent {
  return { id, version, state: 'ready', serves: () => serves };
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof HubError ? err.code : String(err);
  }
  return 'no error';
}

describe('createUpgradeLimits', () => {
  it('validates maxUpgrades up front', () => {
    const agents = () => [];
    expect(() => createUpgradeLimits({ maxUpgrades: -1, agents })).toThrow(RangeError);
    expect(() => createUpgradeLimits({ maxUpgrades: 1.5, agents })).toThrow(/maxUpgrades/);
    expect(() => createUpgradeLimits({ maxUpgrades: 0, agents })).not.toThrow();
  });

  it('501 when no agent for the request speaks protocol 3, or upgrades are off', () => {
    const old = [agent('a', 2)];
    const limits = createUpgradeLimits({ maxUpgrades: 4, agents: () => old });
    expect(codeOf(() => limits.gate(undefined, undefined, '/', false))).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    // agents exist but cannot carry it: blocking does not help
    expect(codeOf(() => limits.gate(undefined, undefined, '/', true))).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    const none = createUpgradeLimits({ maxUpgrades: 4, agents: () => [] });
    expect(codeOf(() => none.gate(undefined, undefined, '/', false))).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    // with no agent at all a blocking client may wait for one
    expect(codeOf(() => none.gate(undefined, undefined, '/', true))).toBe('no error');
    const off = createUpgradeLimits({ maxUpgrades: 0, agents: () => [agent('b', 3)] });
    expect(codeOf(() => off.gate(undefined, undefined, '/', false))).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
    const elsewhere = createUpgradeLimits({ maxUpgrades: 4, agents: () => [agent('c', 3, false)] });
    expect(codeOf(() => elsewhere.gate(undefined, 'gpu', '/', false))).toBe('ERR_HUB_UPGRADE_UNSUPPORTED');
  });

  it('admits a capable agent below its limit, counts from opened to ended, and wakes waiters', () => {
    const agents = [agent('old', 2), agent('new', 3)];
    const observer = { upgraded: vi.fn(), closed: vi.fn(), bytes: vi.fn() };
    const limits = createUpgradeLimits({ maxUpgrades: 2, agents: () => agents, observer });
    const gate = limits.gate(undefined, undefined, '/', false);
    expect(gate.admits('old')).toBe(false);
    expect(gate.admits('new')).toBe(true);
    limits.events.opened('new');
    limits.events.opened('new');
    expect(limits.open('new')).toBe(2);
    expect(gate.admits('new')).toBe(false);
    expect(gate.refusal().code).toBe('ERR_HUB_UPGRADE_LIMIT');
    expect(gate.refusal().headers['retry-after']).toBe('1');
    const woken = vi.fn();
    const off = gate.onAvailable(woken);
    limits.events.switched('new');
    limits.events.ended('new', 'normal');
    expect(woken).toHaveBeenCalledTimes(1);
    expect(limits.open('new')).toBe(1);
    expect(gate.admits('new')).toBe(true);
    off();
    limits.events.ended('new', 'not-switched');
    expect(woken).toHaveBeenCalledTimes(1);
    expect(limits.open('new')).toBe(0);
    expect(observer.upgraded.mock.calls).toEqual([['switched'], ['not-switched']]);
    expect(observer.closed.mock.calls).toEqual([['normal']]);
  });

  it('composes with a shaping gate: both must admit; its refusal wins when it was the reason', () => {
    const agents = [agent('a', 3)];
    const limits = createUpgradeLimits({ maxUpgrades: 8, agents: () => agents });
    const shapingRefusal = new HubError('ERR_HUB_OVERLOADED', 'shaped');
    const shaping = {
      admits: vi.fn(() => false),
      assigned: vi.fn(),
      onAvailable: vi.fn(() => () => {}),
      refusal: () => shapingRefusal,
    };
    const gate = limits.gate(shaping, undefined, '/', false);
    expect(gate.admits('a')).toBe(false);
    expect(gate.refusal()).toBe(shapingRefusal);
    gate.assigned('a');
    expect(shaping.assigned).toHaveBeenCalledWith('a');
  });
});
